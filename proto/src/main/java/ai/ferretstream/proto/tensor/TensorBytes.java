package ai.ferretstream.proto.tensor;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A tensor's raw bytes, wherever they lie, written straight to where they go (a shared-memory
 * window) or turned into a {@link ByteString} for a message. Bytes in native memory (a mapped
 * feature or tile file) reach a shared-memory window in one copy: protobuf-java 4 copies a buffer
 * that is not backed by an array when it wraps one (ADR 0010's amendment), so a {@code ByteString}
 * on the way would cost a second. Bytes that are a {@code ByteString} stay one: a message takes
 * them as views.
 */
public interface TensorBytes {

  /** The number of bytes. */
  int size();

  /** Writes the {@link #size} bytes at {@code dst}'s position, which advances by as much. */
  void copyTo(ByteBuffer dst);

  /**
   * The bytes as a ByteString: views of the pieces that are ByteStrings, one copy of those that lie
   * in a buffer.
   */
  ByteString toByteString();

  /** {@code length} bytes from {@code offset}, not copied. */
  TensorBytes slice(int offset, int length);

  /** The bytes of {@code bytes}. */
  static TensorBytes of(ByteString bytes) {
    return new OfByteString(bytes);
  }

  /**
   * The bytes of {@code bytes} from its position to its limit, where they lie (its position is not
   * moved); they must not change while this is used.
   */
  static TensorBytes of(ByteBuffer bytes) {
    return new OfBuffer(bytes.slice());
  }

  /** {@code pieces} one after the other, not copied. */
  static TensorBytes concat(List<TensorBytes> pieces) {
    return new Concat(List.copyOf(pieces));
  }

  /** Bytes that are a ByteString. */
  record OfByteString(ByteString bytes) implements TensorBytes {
    @Override
    public int size() {
      return bytes.size();
    }

    @Override
    public void copyTo(ByteBuffer dst) {
      bytes.copyTo(dst);
    }

    @Override
    public ByteString toByteString() {
      return bytes;
    }

    @Override
    public TensorBytes slice(int offset, int length) {
      return new OfByteString(bytes.substring(offset, Math.addExact(offset, length)));
    }
  }

  /** Bytes in a buffer (position 0 to its limit). */
  record OfBuffer(ByteBuffer view) implements TensorBytes {
    @Override
    public int size() {
      return view.remaining();
    }

    @Override
    public void copyTo(ByteBuffer dst) {
      dst.put(view.duplicate());
    }

    @Override
    public ByteString toByteString() {
      return ByteString.copyFrom(view.duplicate());
    }

    @Override
    public TensorBytes slice(int offset, int length) {
      return new OfBuffer(view.slice(offset, length));
    }
  }

  /** Pieces one after the other. */
  record Concat(List<TensorBytes> pieces) implements TensorBytes {
    @Override
    public int size() {
      long size = 0;
      for (TensorBytes piece : pieces) {
        size += piece.size();
      }
      return Math.toIntExact(size);
    }

    @Override
    public void copyTo(ByteBuffer dst) {
      if (dst.remaining() < size()) {
        throw new IllegalArgumentException(size() + " bytes do not fit " + dst.remaining());
      }
      for (TensorBytes piece : pieces) {
        piece.copyTo(dst);
      }
    }

    @Override
    public ByteString toByteString() {
      // a rope: no copy of the pieces that are ByteStrings
      return ByteString.copyFrom(pieces.stream().map(TensorBytes::toByteString).toList());
    }

    @Override
    public TensorBytes slice(int offset, int length) {
      if (offset < 0 || length < 0 || (long) offset + length > size()) {
        throw new IndexOutOfBoundsException(
            offset + " + " + length + " bytes of " + size() + " bytes");
      }
      // the pieces the window covers, each cut to it: still nothing copied
      List<TensorBytes> covered = new java.util.ArrayList<>();
      int skip = offset;
      int left = length;
      for (TensorBytes piece : pieces) {
        int n = piece.size();
        if (left == 0) {
          break;
        }
        if (skip >= n) {
          skip -= n;
          continue;
        }
        int take = Math.min(n - skip, left);
        covered.add(piece.slice(skip, take));
        skip = 0;
        left -= take;
      }
      return new Concat(covered);
    }
  }
}

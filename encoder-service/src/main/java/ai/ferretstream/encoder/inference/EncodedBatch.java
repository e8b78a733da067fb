package ai.ferretstream.encoder.inference;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The features of a batch of tiles, split per tile in input order: views of the response's bytes,
 * or of the shared-memory slot the server wrote them to. A slot is returned by {@link #close},
 * after which nothing of the batch may be read.
 */
public final class EncodedBatch implements AutoCloseable {

  private final int channels;
  private final int size;
  private final int perTile;
  private final ByteBuffer window;
  private final AutoCloseable slot;
  private List<ByteString> features;

  /**
   * Features that lie in a response.
   *
   * @param channels feature channels C
   * @param features per tile: FP16 little-endian {@code [patches, C]}
   */
  public EncodedBatch(int channels, List<ByteString> features) {
    this.channels = channels;
    this.features = List.copyOf(features);
    this.size = this.features.size();
    this.perTile = size == 0 ? 0 : this.features.get(0).size();
    this.window = null;
    this.slot = null;
  }

  private EncodedBatch(int channels, int size, int perTile, ByteBuffer window, AutoCloseable slot) {
    this.channels = channels;
    this.size = size;
    this.perTile = perTile;
    this.window = window.asReadOnlyBuffer();
    this.slot = slot;
  }

  /**
   * Features that lie in a shared-memory slot: {@code size} tiles of {@code perTile} bytes each
   * from the start of {@code window}, valid until {@link #close} returns {@code slot}.
   */
  public static EncodedBatch inSlot(
      int channels, int size, int perTile, ByteBuffer window, AutoCloseable slot) {
    return new EncodedBatch(channels, size, perTile, window, slot);
  }

  public int channels() {
    return channels;
  }

  /** Tiles in the batch. */
  public int size() {
    return size;
  }

  /**
   * The features per tile as protobuf bytes. Those in a slot are copied out on first use:
   * protobuf-java 4 copies any buffer that is not backed by an array when it wraps one.
   */
  public synchronized List<ByteString> features() {
    if (features == null) {
      List<ByteString> copied = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        copied.add(ByteString.copyFrom(map(i)));
      }
      features = List.copyOf(copied);
    }
    return features;
  }

  /**
   * Tile {@code i}'s features without a copy: a read-only view of the slot or of the response's
   * bytes, for a writer that takes a buffer (the shared-memory feature store).
   */
  public ByteBuffer map(int i) {
    if (window != null) {
      return window.slice(i * perTile, perTile);
    }
    return features.get(i).asReadOnlyByteBuffer();
  }

  /** Whether the features lie in a shared-memory slot (valid until {@link #close}). */
  public boolean shared() {
    return slot != null;
  }

  /** Returns the slot, if any; nothing of the batch is to be read afterwards. */
  @Override
  public void close() {
    if (slot != null) {
      try {
        slot.close();
      } catch (Exception e) {
        throw new IllegalStateException("could not return a shared-memory slot", e);
      }
    }
  }
}

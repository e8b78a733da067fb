package ai.ferretstream.inferenceserver;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One named tensor in the raw KServe v2 encoding: flattened row-major, little-endian; BYTES
 * elements are a little-endian uint32 length followed by the bytes.
 *
 * <p>Its contents are either a {@link ByteString} (from the message, or a model's output) or a
 * {@link ByteBuffer} view of a client's shared-memory region ({@link #view}): read where it lies,
 * as Triton reads such inputs, because protobuf-java 4 copies a buffer that is not backed by an
 * array when it wraps one (ADR 0010's amendment). A view is valid while its request runs: the
 * client does not touch the region until the response.
 *
 * @param name tensor name
 * @param datatype protocol datatype ("UINT8", "FP16", "BYTES", …)
 * @param shape full shape (batch dimension included where the model batches)
 * @param bytes raw contents in a ByteString, or {@code null} for a view
 * @param view raw contents where they lie (position 0 to limit), or {@code null}
 */
record Tensor(String name, String datatype, long[] shape, ByteString bytes, ByteBuffer view) {

  Tensor {
    shape = shape.clone();
    if ((bytes == null) == (view == null)) {
      throw new IllegalArgumentException("a tensor has either bytes or a view");
    }
    if (view != null) {
      view = view.slice();
    }
  }

  /** A tensor over {@code data}. */
  Tensor(String name, String datatype, long[] shape, ByteString data) {
    this(name, datatype, shape, java.util.Objects.requireNonNull(data, "data"), null);
  }

  /** A tensor read where {@code contents} lies (from its position to its limit), not copied. */
  static Tensor view(String name, String datatype, long[] shape, ByteBuffer contents) {
    return new Tensor(name, datatype, shape, null, contents);
  }

  /** The contents as a ByteString: a view's are copied (each call). */
  ByteString data() {
    return bytes != null ? bytes : ByteString.copyFrom(view.duplicate());
  }

  /** The contents' size in bytes. */
  long byteSize() {
    return bytes != null ? bytes.size() : view.remaining();
  }

  /** Whether the contents are a view of native memory (shared memory), read in place. */
  boolean isView() {
    return view != null;
  }

  /** A view's contents ({@code null} for a tensor over a ByteString): a new buffer each call. */
  ByteBuffer viewBuffer() {
    return view == null ? null : view.duplicate();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  long dim(int i) {
    return shape[i];
  }

  int rank() {
    return shape.length;
  }

  /** A little-endian read-only view of the contents (no copy for contiguous data). */
  ByteBuffer littleEndian() {
    // sliced: a view of a larger array (a request parsed with aliasing) starts at index 0
    ByteBuffer all = bytes != null ? bytes.asReadOnlyByteBuffer() : view.asReadOnlyBuffer();
    return all.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public String toString() {
    return name + " " + datatype + Arrays.toString(shape) + " (" + byteSize() + " bytes)";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && name.equals(t.name)
        && datatype.equals(t.datatype)
        && Arrays.equals(shape, t.shape)
        && data().equals(t.data());
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + data().hashCode();
  }
}

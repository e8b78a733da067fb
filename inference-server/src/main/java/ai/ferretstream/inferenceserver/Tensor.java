package ai.ferretstream.inferenceserver;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One named tensor in the raw KServe v2 encoding: flattened row-major, little-endian; BYTES
 * elements are a little-endian uint32 length followed by the bytes.
 *
 * @param name tensor name
 * @param datatype protocol datatype ("UINT8", "FP16", "BYTES", …)
 * @param shape full shape (batch dimension included where the model batches)
 * @param data raw contents
 */
record Tensor(String name, String datatype, long[] shape, ByteString data) {

  Tensor {
    shape = shape.clone();
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
    return data.asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public String toString() {
    return name + " " + datatype + Arrays.toString(shape) + " (" + data.size() + " bytes)";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && name.equals(t.name)
        && datatype.equals(t.datatype)
        && Arrays.equals(shape, t.shape)
        && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + data.hashCode();
  }
}

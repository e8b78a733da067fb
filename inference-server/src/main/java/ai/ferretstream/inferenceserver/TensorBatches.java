package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Joins the inputs of several requests along dimension 0 into one batch and splits the batch's
 * outputs back by each request's rows. Raw contents are row-major, so a batch is the requests'
 * bytes one after another (for BYTES too: each row's length-prefixed elements are contiguous).
 */
final class TensorBatches {

  private TensorBatches() {}

  /**
   * What must agree for two requests to share a batch: the same inputs with the same datatypes and
   * the same dimensions after dimension 0.
   */
  static String signature(InferInputs inputs) {
    StringBuilder b = new StringBuilder();
    for (Tensor t : new TreeMap<>(inputs.tensors()).values()) {
      long[] shape = t.shape();
      b.append(t.name())
          .append(':')
          .append(t.datatype())
          .append(
              Arrays.toString(Arrays.copyOfRange(shape, Math.min(1, shape.length), shape.length)))
          .append(';');
    }
    return b.toString();
  }

  /**
   * One batch of the parts' rows, in order. The parts must have equal {@link #signature}s; the
   * contents are joined without copying.
   */
  static InferInputs concat(List<InferInputs> parts) {
    InferInputs first = parts.get(0);
    int rows = 0;
    for (InferInputs p : parts) {
      rows += p.batchSize();
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Tensor t : first.tensors().values()) {
      List<ByteString> pieces = new ArrayList<>(parts.size());
      for (InferInputs p : parts) {
        pieces.add(p.get(t.name()).data());
      }
      long[] shape = t.shape();
      shape[0] = rows;
      tensors.put(t.name(), new Tensor(t.name(), t.datatype(), shape, ByteString.copyFrom(pieces)));
    }
    return new InferInputs(tensors, rows);
  }

  /**
   * Splits batch outputs by rows: part {@code i} gets the next {@code rows[i]} rows of every
   * output.
   *
   * @throws InferenceException INTERNAL when an output's dimension 0 is not the batch's row count
   */
  static List<Map<String, Tensor>> split(List<Tensor> outputs, int[] rows) {
    long total = 0;
    for (int r : rows) {
      total += r;
    }
    List<Map<String, Tensor>> parts = new ArrayList<>(rows.length);
    for (int i = 0; i < rows.length; i++) {
      parts.add(new LinkedHashMap<>());
    }
    for (Tensor t : outputs) {
      if (t.rank() == 0 || t.dim(0) != total) {
        throw new InferenceException(
            Status.Code.INTERNAL,
            "the model returned output '"
                + t.name()
                + "' with shape "
                + Arrays.toString(t.shape())
                + " for a batch of "
                + total
                + " rows (dimension 0 must be the batch)");
      }
      int[] offsets = rowOffsets(t, (int) total);
      int row = 0;
      for (int i = 0; i < rows.length; i++) {
        long[] shape = t.shape();
        shape[0] = rows[i];
        ByteString data = t.data().substring(offsets[row], offsets[row + rows[i]]);
        parts.get(i).put(t.name(), new Tensor(t.name(), t.datatype(), shape, data));
        row += rows[i];
      }
    }
    return parts;
  }

  /** Byte offset of the start of every row, plus the end ({@code rows + 1} entries). */
  private static int[] rowOffsets(Tensor t, int rows) {
    int[] offsets = new int[rows + 1];
    int size = TensorCodec.elementSize(t.datatype());
    if (size > 0) {
      if (t.data().size() % Math.max(1, rows) != 0) {
        throw new InferenceException(
            Status.Code.INTERNAL,
            "output '" + t.name() + "' has " + t.data().size() + " bytes for " + rows + " rows");
      }
      int rowBytes = rows == 0 ? 0 : t.data().size() / rows;
      for (int r = 0; r <= rows; r++) {
        offsets[r] = r * rowBytes;
      }
      return offsets;
    }
    // BYTES: walk the length prefixes, perRow elements per row
    long[] shape = t.shape();
    long perRow = TensorCodec.elementCount(Arrays.copyOfRange(shape, 1, shape.length));
    ByteBuffer buf = t.littleEndian();
    int base = buf.position();
    for (int r = 0; r < rows; r++) {
      offsets[r] = buf.position() - base;
      for (long e = 0; e < perRow; e++) {
        if (buf.remaining() < 4) {
          throw new InferenceException(
              Status.Code.INTERNAL, "BYTES output '" + t.name() + "' is shorter than its shape");
        }
        int len = buf.getInt();
        if (len < 0 || len > buf.remaining()) {
          throw new InferenceException(
              Status.Code.INTERNAL, "BYTES output '" + t.name() + "' has a bad length prefix");
        }
        buf.position(buf.position() + len);
      }
    }
    offsets[rows] = buf.position() - base;
    return offsets;
  }
}

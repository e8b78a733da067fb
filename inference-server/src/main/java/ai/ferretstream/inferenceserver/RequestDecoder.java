package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.InferTensorContents;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferInputTensor;
import ai.ferretstream.proto.inference.ModelInferRequest.InferRequestedOutputTensor;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelOutput;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.SharedMemoryRegions;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link ModelInferRequest} into validated {@link Tensor}s: names, datatypes, shapes, batch
 * size and byte counts are checked against the model configuration, and every difference becomes an
 * {@code INVALID_ARGUMENT} that says what was sent and what the model expects.
 */
final class RequestDecoder {

  private RequestDecoder() {}

  static InferInputs decode(ModelInferRequest request, ModelConfig config) {
    return decode(request, config, null);
  }

  /**
   * @param regions the registered shared-memory regions an input may lie in; {@code null} when the
   *     server has none
   */
  static InferInputs decode(
      ModelInferRequest request, ModelConfig config, SharedMemoryRegions regions) {
    String model = config.getName();
    int rawCount = request.getRawInputContentsCount();
    List<SharedMemoryRegions.Placement> placed = new ArrayList<>();
    int inMessage = 0;
    for (InferInputTensor in : request.getInputsList()) {
      SharedMemoryRegions.Placement p =
          placement(regions, "input", in.getName(), in.getParametersMap());
      placed.add(p);
      if (p == null) {
        inMessage++;
      }
    }
    if (rawCount > 0 && rawCount != inMessage) {
      throw InferenceException.invalid(
          "request for model '"
              + model
              + "' has "
              + inMessage
              + " inputs outside shared memory but "
              + rawCount
              + " raw_input_contents entries (one per such input, in order)");
    }
    int rawIndex = 0;
    Map<String, ModelInput> specs = new LinkedHashMap<>();
    for (ModelInput in : config.getInputList()) {
      specs.put(in.getName(), in);
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    long batch = -1;
    for (int i = 0; i < request.getInputsCount(); i++) {
      InferInputTensor in = request.getInputs(i);
      ModelInput spec = specs.get(in.getName());
      if (spec == null) {
        throw InferenceException.invalid(
            "unknown input '"
                + in.getName()
                + "' for model '"
                + model
                + "' (it has inputs "
                + specs.keySet()
                + ")");
      }
      if (tensors.containsKey(in.getName())) {
        throw InferenceException.invalid("input '" + in.getName() + "' is given twice");
      }
      String want = DataTypes.protocol(spec.getDataType());
      if (!want.equals(in.getDatatype())) {
        throw InferenceException.invalid(
            "input '"
                + in.getName()
                + "' has datatype "
                + (in.getDatatype().isEmpty() ? "(none)" : in.getDatatype())
                + " but model '"
                + model
                + "' expects "
                + want);
      }
      long[] shape = in.getShapeList().stream().mapToLong(Long::longValue).toArray();
      long[] expected = ModelConfigs.fullShape(config, spec.getDimsList());
      checkShape(model, in.getName(), shape, expected);
      if (config.getMaxBatchSize() > 0) {
        long b = shape[0];
        if (b < 1 || b > config.getMaxBatchSize()) {
          throw InferenceException.invalid(
              "input '"
                  + in.getName()
                  + "' has batch size "
                  + b
                  + " but model '"
                  + model
                  + "' accepts 1 to "
                  + config.getMaxBatchSize());
        }
        if (batch != -1 && batch != b) {
          throw InferenceException.invalid(
              "inputs disagree on the batch size: "
                  + batch
                  + " and "
                  + b
                  + " ('"
                  + in.getName()
                  + "')");
        }
        batch = b;
      }
      ByteString data;
      SharedMemoryRegions.Placement at = placed.get(i);
      if (at != null) {
        if (in.hasContents()) {
          throw InferenceException.invalid(
              "input '" + in.getName() + "' sets contents although it lies in shared memory");
        }
        if (TensorCodec.elementSize(want) > 0) {
          // fixed-size elements are read where they lie (ADR 0010's amendment): no copy
          ByteBuffer view = at.view();
          checkByteCount(in.getName(), want, shape, view.remaining(), null);
          tensors.put(in.getName(), Tensor.view(in.getName(), want, shape, view));
          continue;
        }
        data = at.read();
      } else if (rawCount > 0) {
        if (in.hasContents()) {
          throw InferenceException.invalid(
              "input '"
                  + in.getName()
                  + "' sets contents although raw_input_contents is used (use one or the other)");
        }
        data = request.getRawInputContents(rawIndex++);
      } else {
        data = fromContents(in, want);
      }
      checkByteCount(in.getName(), want, shape, data.size(), data);
      tensors.put(in.getName(), new Tensor(in.getName(), want, shape, data));
    }
    List<String> missing = new ArrayList<>();
    for (ModelInput spec : config.getInputList()) {
      if (!spec.getOptional() && !tensors.containsKey(spec.getName())) {
        missing.add(spec.getName());
      }
    }
    if (!missing.isEmpty()) {
      throw InferenceException.invalid(
          "request for model '"
              + model
              + "' is missing input(s) "
              + missing
              + " (it has "
              + tensors.keySet()
              + ")");
    }
    return new InferInputs(tensors, batch == -1 ? 1 : (int) batch);
  }

  /** Where a tensor lies when its parameters name a shared-memory region, else {@code null}. */
  private static SharedMemoryRegions.Placement placement(
      SharedMemoryRegions regions, String what, String name, Map<String, InferParameter> params) {
    if (!params.containsKey(SharedMemory.REGION)) {
      return null;
    }
    if (regions == null) {
      throw InferenceException.invalid(
          what + " '" + name + "' names a shared-memory region; this server has none");
    }
    try {
      return regions.placement(name, params);
    } catch (StatusRuntimeException e) {
      throw InferenceException.of(e);
    }
  }

  /**
   * Where each requested output goes: a shared-memory region, or {@code null} for the response.
   *
   * @return by output name; only outputs placed in a region
   */
  static Map<String, SharedMemoryRegions.Placement> outputPlacements(
      ModelInferRequest request, SharedMemoryRegions regions) {
    Map<String, SharedMemoryRegions.Placement> out = new LinkedHashMap<>();
    for (InferRequestedOutputTensor o : request.getOutputsList()) {
      SharedMemoryRegions.Placement p =
          placement(regions, "output", o.getName(), o.getParametersMap());
      if (p != null) {
        out.put(o.getName(), p);
      }
    }
    return out;
  }

  /** Names of the outputs to return: the requested ones, or all in config order. */
  static List<String> requestedOutputs(ModelInferRequest request, ModelConfig config) {
    List<String> all = config.getOutputList().stream().map(ModelOutput::getName).toList();
    if (request.getOutputsCount() == 0) {
      return all;
    }
    List<String> out = new ArrayList<>();
    for (InferRequestedOutputTensor o : request.getOutputsList()) {
      if (!all.contains(o.getName())) {
        throw InferenceException.invalid(
            "unknown output '"
                + o.getName()
                + "' requested from model '"
                + config.getName()
                + "' (it has outputs "
                + all
                + ")");
      }
      if (out.contains(o.getName())) {
        throw InferenceException.invalid("output '" + o.getName() + "' is requested twice");
      }
      out.add(o.getName());
    }
    return out;
  }

  private static void checkShape(String model, String name, long[] shape, long[] expected) {
    if (shape.length != expected.length) {
      throw InferenceException.invalid(
          "input '"
              + name
              + "' has shape "
              + Arrays.toString(shape)
              + " but model '"
              + model
              + "' expects "
              + Arrays.toString(expected)
              + " (rank "
              + shape.length
              + " vs "
              + expected.length
              + ")");
    }
    for (int d = 0; d < shape.length; d++) {
      if (shape[d] < 0) {
        throw InferenceException.invalid(
            "input '" + name + "' has a negative dimension in shape " + Arrays.toString(shape));
      }
      if (expected[d] != -1 && expected[d] != shape[d]) {
        throw InferenceException.invalid(
            "input '"
                + name
                + "' has shape "
                + Arrays.toString(shape)
                + " but model '"
                + model
                + "' expects "
                + Arrays.toString(expected)
                + " (dimension "
                + d
                + " is "
                + shape[d]
                + ", expected "
                + expected[d]
                + ")");
      }
    }
  }

  /**
   * @param byteCount the contents' size
   * @param data the contents, needed for BYTES (length-prefixed elements) only
   */
  private static void checkByteCount(
      String name, String datatype, long[] shape, long byteCount, ByteString data) {
    long elements;
    try {
      elements = TensorCodec.elementCount(shape);
    } catch (ArithmeticException e) {
      throw InferenceException.invalid(
          "input '" + name + "' shape " + Arrays.toString(shape) + " is too large");
    }
    int size = TensorCodec.elementSize(datatype);
    if (size > 0) {
      long want = elements * size;
      if (want != byteCount) {
        throw InferenceException.invalid(
            "input '"
                + name
                + "' has "
                + byteCount
                + " bytes but shape "
                + Arrays.toString(shape)
                + " of "
                + datatype
                + " needs "
                + want);
      }
      return;
    }
    long count = countBytesElements(name, data);
    if (count != elements) {
      throw InferenceException.invalid(
          "input '"
              + name
              + "' holds "
              + count
              + " BYTES elements but shape "
              + Arrays.toString(shape)
              + " needs "
              + elements);
    }
  }

  /** Walks the length prefixes of a BYTES tensor without copying its elements. */
  static long countBytesElements(String name, ByteString data) {
    ByteBuffer buf = data.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    long count = 0;
    while (buf.hasRemaining()) {
      if (buf.remaining() < 4) {
        throw InferenceException.invalid(
            "BYTES input '" + name + "' ends inside a 4-byte length prefix");
      }
      long len = Integer.toUnsignedLong(buf.getInt());
      if (len > buf.remaining()) {
        throw InferenceException.invalid(
            "BYTES input '"
                + name
                + "' element "
                + count
                + " claims "
                + len
                + " bytes but only "
                + buf.remaining()
                + " remain");
      }
      buf.position(buf.position() + (int) len);
      count++;
    }
    return count;
  }

  /** Encodes typed {@code contents} as raw little-endian bytes (the fallback for typed input). */
  private static ByteString fromContents(InferInputTensor in, String datatype) {
    InferTensorContents c = in.getContents();
    String name = in.getName();
    ByteBuffer buf;
    switch (datatype) {
      case "BOOL" -> {
        buf = allocate(c.getBoolContentsCount());
        for (int i = 0; i < c.getBoolContentsCount(); i++) {
          buf.put((byte) (c.getBoolContents(i) ? 1 : 0));
        }
      }
      case "INT8", "INT16", "INT32" -> {
        int size = TensorCodec.elementSize(datatype);
        buf = allocate((long) c.getIntContentsCount() * size);
        for (int i = 0; i < c.getIntContentsCount(); i++) {
          int v = c.getIntContents(i);
          checkRange(name, datatype, v, size);
          putSized(buf, v, size);
        }
      }
      case "UINT8", "UINT16", "UINT32" -> {
        int size = TensorCodec.elementSize(datatype);
        buf = allocate((long) c.getUintContentsCount() * size);
        for (int i = 0; i < c.getUintContentsCount(); i++) {
          int v = c.getUintContents(i);
          if (size < 4 && Integer.toUnsignedLong(v) >= (1L << (8 * size))) {
            throw InferenceException.invalid(
                "input '"
                    + name
                    + "' value "
                    + Integer.toUnsignedString(v)
                    + " overflows "
                    + datatype);
          }
          putSized(buf, v, size);
        }
      }
      case "INT64" -> {
        buf = allocate(8L * c.getInt64ContentsCount());
        for (int i = 0; i < c.getInt64ContentsCount(); i++) {
          buf.putLong(c.getInt64Contents(i));
        }
      }
      case "UINT64" -> {
        buf = allocate(8L * c.getUint64ContentsCount());
        for (int i = 0; i < c.getUint64ContentsCount(); i++) {
          buf.putLong(c.getUint64Contents(i));
        }
      }
      case "FP32" -> {
        buf = allocate(4L * c.getFp32ContentsCount());
        for (int i = 0; i < c.getFp32ContentsCount(); i++) {
          buf.putFloat(c.getFp32Contents(i));
        }
      }
      case "FP64" -> {
        buf = allocate(8L * c.getFp64ContentsCount());
        for (int i = 0; i < c.getFp64ContentsCount(); i++) {
          buf.putDouble(c.getFp64Contents(i));
        }
      }
      case "BYTES" -> {
        long total = 0;
        for (ByteString b : c.getBytesContentsList()) {
          total += 4L + b.size();
        }
        buf = allocate(total);
        for (ByteString b : c.getBytesContentsList()) {
          buf.putInt(b.size());
          b.copyTo(buf);
        }
      }
      default ->
          throw InferenceException.invalid(
              "input '"
                  + name
                  + "' is "
                  + datatype
                  + ", which has no typed contents field: send it in raw_input_contents");
    }
    buf.flip();
    return UnsafeByteOperations.unsafeWrap(buf);
  }

  private static ByteBuffer allocate(long bytes) {
    if (bytes > Integer.MAX_VALUE) {
      throw InferenceException.invalid("typed contents too large: " + bytes + " bytes");
    }
    return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static void checkRange(String name, String datatype, int v, int size) {
    if (size < 4) {
      int bits = 8 * size;
      int min = -(1 << (bits - 1));
      int max = (1 << (bits - 1)) - 1;
      if (v < min || v > max) {
        throw InferenceException.invalid(
            "input '" + name + "' value " + v + " overflows " + datatype);
      }
    }
  }

  private static void putSized(ByteBuffer buf, int v, int size) {
    switch (size) {
      case 1 -> buf.put((byte) v);
      case 2 -> buf.putShort((short) v);
      default -> buf.putInt(v);
    }
  }
}

package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.DataType;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelOutput;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import ai.onnxruntime.ValueInfo;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model run by ONNX Runtime on the CPU. The session is checked against the configuration at load
 * time (names, element types, ranks and fixed dimensions), so requests that passed {@link
 * RequestDecoder} fit the graph. Inputs are copied once into direct buffers that ONNX Runtime reads
 * in place; outputs are copied once out of ONNX Runtime. Sessions are thread-safe.
 */
final class OnnxBackend implements ModelBackend {

  private final OrtEnvironment env;
  private final OrtSession session;
  private final Map<String, String> outputTypes = new LinkedHashMap<>();

  private OnnxBackend(OrtEnvironment env, OrtSession session, ModelConfig config) {
    this.env = env;
    this.session = session;
    for (ModelOutput out : config.getOutputList()) {
      outputTypes.put(out.getName(), DataTypes.protocol(out.getDataType()));
    }
  }

  /**
   * Loads {@code file} and checks it against {@code config}.
   *
   * @throws IllegalArgumentException when the graph and the configuration differ (every difference
   *     named) or the file cannot be loaded
   */
  static OnnxBackend load(OrtEnvironment env, ModelConfig config, Path file) {
    OrtSession session = null;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      int intraOp = intParameter(config, "intra_op_thread_count");
      if (intraOp > 0) {
        options.setIntraOpNumThreads(intraOp);
      }
      int interOp = intParameter(config, "inter_op_thread_count");
      if (interOp > 0) {
        options.setInterOpNumThreads(interOp);
      }
      // ONNX Runtime's pool threads spin between runs by default, burning CPU that the services
      // beside a CPU server need; off unless the model asks for it
      boolean spin =
          Boolean.parseBoolean(ModelConfigs.stringParameter(config, "allow_spinning", "false"));
      options.addConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
      options.addConfigEntry("session.inter_op.allow_spinning", spin ? "1" : "0");
      session = env.createSession(file.toString(), options);
      List<String> problems = new ArrayList<>();
      compareInputs(config, session.getInputInfo(), problems);
      compareOutputs(config, session.getOutputInfo(), problems);
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "model '"
                + config.getName()
                + "': "
                + file
                + " does not match config.pbtxt: "
                + String.join("; ", problems));
      }
      OnnxBackend backend = new OnnxBackend(env, session, config);
      session = null; // owned by the backend now
      return backend;
    } catch (OrtException e) {
      throw new IllegalArgumentException(
          "model '"
              + config.getName()
              + "': ONNX Runtime cannot load "
              + file
              + ": "
              + e.getMessage(),
          e);
    } finally {
      if (session != null) {
        closeSession(session);
      }
    }
  }

  @Override
  public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      for (Tensor t : inputs.tensors().values()) {
        feeds.put(t.name(), toOrt(t));
      }
      List<Tensor> result = new ArrayList<>(outputs.size());
      try (OrtSession.Result run = session.run(feeds, new LinkedHashSet<>(outputs))) {
        for (String name : outputs) {
          Optional<OnnxValue> value = run.get(name);
          if (value.isEmpty() || !(value.get() instanceof OnnxTensor tensor)) {
            throw new InferenceException(
                Status.Code.INTERNAL, "ONNX Runtime returned no tensor for output '" + name + "'");
          }
          result.add(fromOrt(name, tensor));
        }
      }
      sink.send(result, true);
    } catch (OrtException e) {
      throw new InferenceException(
          Status.Code.INTERNAL, "ONNX Runtime failed: " + e.getMessage(), e);
    } finally {
      for (OnnxTensor t : feeds.values()) {
        t.close();
      }
    }
  }

  private OnnxTensor toOrt(Tensor t) throws OrtException {
    long[] shape = t.shape();
    if ("BYTES".equals(t.datatype())) {
      List<String> strings = TensorCodec.bytesTensorToStrings(t.data().toByteArray());
      return OnnxTensor.createTensor(env, strings.toArray(new String[0]), shape);
    }
    ByteBuffer view = t.viewBuffer();
    if (view != null
        && view.isDirect()
        && (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            || TensorCodec.elementSize(t.datatype()) == 1)) {
      // in shared memory: ONNX Runtime reads a direct buffer where it lies (no copy); the
      // contents are little-endian, as is this host
      return OnnxTensor.createTensor(
          env, view.order(ByteOrder.nativeOrder()), shape, javaType(t.datatype()));
    }
    ByteBuffer buf = ByteBuffer.allocateDirect((int) t.byteSize()).order(ByteOrder.nativeOrder());
    if (view != null) {
      buf.put(view);
    } else {
      t.data().copyTo(buf);
    }
    buf.flip();
    return OnnxTensor.createTensor(env, buf, shape, javaType(t.datatype()));
  }

  private Tensor fromOrt(String name, OnnxTensor tensor) throws OrtException {
    TensorInfo info = tensor.getInfo();
    String datatype = outputTypes.get(name);
    if (info.type == OnnxJavaType.STRING) {
      String[] strings = (String[]) flatten(tensor.getValue(), info);
      return new Tensor(
          name,
          datatype,
          info.getShape(),
          ByteString.copyFrom(TensorCodec.stringsToBytesTensor(Arrays.asList(strings))));
    }
    ByteBuffer bytes = tensor.getByteBuffer();
    if (bytes.order() != ByteOrder.LITTLE_ENDIAN && TensorCodec.elementSize(datatype) > 1) {
      throw new InferenceException(
          Status.Code.INTERNAL, "big-endian hosts are not supported for output '" + name + "'");
    }
    return new Tensor(name, datatype, info.getShape(), UnsafeByteOperations.unsafeWrap(bytes));
  }

  private static Object flatten(Object value, TensorInfo info) {
    if (value instanceof String[] s && info.getShape().length <= 1) {
      return s;
    }
    List<String> out = new ArrayList<>();
    collect(value, out);
    return out.toArray(new String[0]);
  }

  private static void collect(Object value, List<String> out) {
    if (value instanceof String s) {
      out.add(s);
    } else if (value instanceof Object[] arr) {
      for (Object o : arr) {
        collect(o, out);
      }
    }
  }

  @Override
  public void close() {
    closeSession(session);
  }

  private static void closeSession(OrtSession session) {
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException("closing an ONNX Runtime session failed", e);
    }
  }

  private static int intParameter(ModelConfig config, String key) {
    String v = ModelConfigs.stringParameter(config, key, "").trim();
    if (v.isEmpty()) {
      return 0;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "model '" + config.getName() + "': parameter " + key + " is not an integer: " + v, e);
    }
  }

  static OnnxJavaType javaType(String datatype) {
    return switch (datatype) {
      case "BOOL" -> OnnxJavaType.BOOL;
      case "UINT8" -> OnnxJavaType.UINT8;
      case "INT8" -> OnnxJavaType.INT8;
      case "INT16" -> OnnxJavaType.INT16;
      case "INT32" -> OnnxJavaType.INT32;
      case "INT64" -> OnnxJavaType.INT64;
      case "FP16" -> OnnxJavaType.FLOAT16;
      case "BF16" -> OnnxJavaType.BFLOAT16;
      case "FP32" -> OnnxJavaType.FLOAT;
      case "FP64" -> OnnxJavaType.DOUBLE;
      default ->
          throw new InferenceException(
              Status.Code.INVALID_ARGUMENT,
              "datatype " + datatype + " is not supported by the ONNX Runtime Java API");
    };
  }

  static DataType configType(OnnxTensorType type) {
    return switch (type) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> DataType.TYPE_BOOL;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> DataType.TYPE_UINT8;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 -> DataType.TYPE_UINT16;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 -> DataType.TYPE_UINT32;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 -> DataType.TYPE_UINT64;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> DataType.TYPE_INT8;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> DataType.TYPE_INT16;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> DataType.TYPE_INT32;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> DataType.TYPE_INT64;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> DataType.TYPE_FP16;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> DataType.TYPE_FP32;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> DataType.TYPE_FP64;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> DataType.TYPE_STRING;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 -> DataType.TYPE_BF16;
      default -> DataType.TYPE_INVALID;
    };
  }

  private static void compareInputs(
      ModelConfig config, Map<String, NodeInfo> graph, List<String> problems) {
    List<String> declared = new ArrayList<>();
    for (ModelInput in : config.getInputList()) {
      declared.add(in.getName());
      compare(
          config,
          "input",
          in.getName(),
          in.getDataType(),
          ModelConfigs.fullShape(config, in.getDimsList()),
          graph,
          problems);
    }
    for (String name : graph.keySet()) {
      if (!declared.contains(name)) {
        problems.add("graph input '" + name + "' is not declared in config.pbtxt");
      }
    }
  }

  private static void compareOutputs(
      ModelConfig config, Map<String, NodeInfo> graph, List<String> problems) {
    for (ModelOutput out : config.getOutputList()) {
      compare(
          config,
          "output",
          out.getName(),
          out.getDataType(),
          ModelConfigs.fullShape(config, out.getDimsList()),
          graph,
          problems);
    }
  }

  private static void compare(
      ModelConfig config,
      String kind,
      String name,
      DataType type,
      long[] configShape,
      Map<String, NodeInfo> graph,
      List<String> problems) {
    NodeInfo node = graph.get(name);
    if (node == null) {
      problems.add(
          "config "
              + kind
              + " '"
              + name
              + "' is not in the graph (graph "
              + kind
              + "s: "
              + graph.keySet()
              + ")");
      return;
    }
    ValueInfo info = node.getInfo();
    if (!(info instanceof TensorInfo tensor)) {
      problems.add("graph " + kind + " '" + name + "' is not a tensor");
      return;
    }
    DataType graphType = configType(tensor.onnxType);
    if (graphType != type) {
      problems.add(
          kind
              + " '"
              + name
              + "' is "
              + type
              + " in config.pbtxt but "
              + tensor.onnxType
              + " in the graph");
    }
    long[] graphShape = tensor.getShape();
    if (graphShape.length != configShape.length) {
      problems.add(
          kind
              + " '"
              + name
              + "' has rank "
              + configShape.length
              + " in config.pbtxt "
              + Arrays.toString(configShape)
              + " but rank "
              + graphShape.length
              + " in the graph "
              + Arrays.toString(graphShape)
              + (config.getMaxBatchSize() > 0
                  ? " (max_batch_size > 0 adds the batch dimension)"
                  : ""));
      return;
    }
    for (int d = 0; d < graphShape.length; d++) {
      long g = graphShape[d];
      long c = configShape[d];
      if (d == 0 && config.getMaxBatchSize() > 0 && g > 0 && g < config.getMaxBatchSize()) {
        problems.add(
            kind
                + " '"
                + name
                + "' has a fixed batch dimension "
                + g
                + " in the graph but"
                + " max_batch_size is "
                + config.getMaxBatchSize());
      } else if (g > 0 && c > 0 && g != c) {
        problems.add(
            kind
                + " '"
                + name
                + "' dimension "
                + d
                + " is "
                + c
                + " in config.pbtxt but "
                + g
                + " in the graph");
      }
    }
  }
}

package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.DataType;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelInstanceGroup;
import ai.ferretstream.proto.inference.ModelOutput;
import ai.ferretstream.proto.inference.ModelParameter;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads Triton's {@code config.pbtxt} (protobuf text format of {@code inference.ModelConfig};
 * fields this server does not declare are skipped) and checks what this server relies on.
 */
final class ModelConfigs {

  static final String CONFIG_FILE = "config.pbtxt";
  static final String PLATFORM_ONNX = "onnxruntime_onnx";
  static final String BACKEND_ONNX = "onnxruntime";
  static final String BACKEND_JAVA = "java";
  static final String DEFAULT_ONNX_FILE = "model.onnx";

  /** How a model is executed by this server. */
  enum Kind {
    ONNX,
    JAVA
  }

  private static final TextFormat.Parser PARSER =
      TextFormat.Parser.newBuilder().setAllowUnknownFields(true).build();

  private ModelConfigs() {}

  /**
   * Parses config text.
   *
   * @throws IllegalArgumentException naming {@code source} and the parse error
   */
  static ModelConfig parse(CharSequence text, String source) {
    ModelConfig.Builder builder = ModelConfig.newBuilder();
    try {
      PARSER.merge(text, builder);
    } catch (TextFormat.ParseException e) {
      throw new IllegalArgumentException(
          source + " is not a valid model configuration: " + e.getMessage(), e);
    }
    return builder.build();
  }

  /**
   * Reads and validates {@code <modelDir>/config.pbtxt}; an empty {@code name} becomes the
   * directory name, as in Triton.
   *
   * @throws IllegalArgumentException when the file is invalid, naming every problem
   */
  static ModelConfig read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("missing " + file);
    }
    ModelConfig config = parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    String dirName = modelDir.getFileName().toString();
    if (config.getName().isEmpty()) {
      config = config.toBuilder().setName(dirName).build();
    } else if (!config.getName().equals(dirName)) {
      throw new IllegalArgumentException(
          file
              + ": name '"
              + config.getName()
              + "' differs from its directory '"
              + dirName
              + "' (Triton requires them to match)");
    }
    validate(config, file.toString());
    return config;
  }

  /**
   * Checks the parts of a configuration this server needs.
   *
   * @throws IllegalArgumentException listing every problem
   */
  static void validate(ModelConfig config, String source) {
    List<String> problems = new ArrayList<>();
    if (config.getMaxBatchSize() < 0) {
      problems.add("max_batch_size must be >= 0, is " + config.getMaxBatchSize());
    }
    try {
      Kind kind = kind(config);
      if (kind == Kind.JAVA && implementation(config).isEmpty()) {
        problems.add(
            "backend \"java\" needs parameters { key: \"implementation\" value: { string_value:"
                + " \"...\" } }");
      }
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    if (config.hasDynamicBatching()) {
      for (int p : config.getDynamicBatching().getPreferredBatchSizeList()) {
        if (p < 1 || p > config.getMaxBatchSize()) {
          problems.add(
              "dynamic_batching preferred_batch_size "
                  + p
                  + " is outside 1..max_batch_size ("
                  + config.getMaxBatchSize()
                  + ")");
        }
      }
    }
    for (ModelInstanceGroup g : config.getInstanceGroupList()) {
      if (g.getCount() < 0) {
        problems.add("instance_group count must be >= 0, is " + g.getCount());
      }
    }
    if (config.getInputCount() == 0) {
      problems.add("no input declared");
    }
    if (config.getOutputCount() == 0) {
      problems.add("no output declared");
    }
    Set<String> names = new HashSet<>();
    for (ModelInput in : config.getInputList()) {
      checkTensor("input", in.getName(), in.getDataType(), in.getDimsList(), names, problems);
    }
    names.clear();
    for (ModelOutput out : config.getOutputList()) {
      checkTensor("output", out.getName(), out.getDataType(), out.getDimsList(), names, problems);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(source + ": " + String.join("; ", problems));
    }
  }

  private static void checkTensor(
      String kind,
      String name,
      DataType type,
      List<Long> dims,
      Set<String> seen,
      List<String> problems) {
    if (name.isEmpty()) {
      problems.add(kind + " without a name");
      return;
    }
    if (!seen.add(name)) {
      problems.add("duplicate " + kind + " '" + name + "'");
    }
    if (type == DataType.TYPE_INVALID || type == DataType.UNRECOGNIZED) {
      problems.add(kind + " '" + name + "' has no valid data_type");
    }
    if (dims.isEmpty()) {
      problems.add(kind + " '" + name + "' has no dims");
    }
    for (long d : dims) {
      if (d < -1) {
        problems.add(kind + " '" + name + "' has an invalid dimension " + d);
      }
    }
  }

  /** How the model runs here; throws for platforms this server cannot host. */
  static Kind kind(ModelConfig config) {
    String platform = config.getPlatform();
    String backend = config.getBackend();
    if (PLATFORM_ONNX.equals(platform) || BACKEND_ONNX.equals(backend)) {
      return Kind.ONNX;
    }
    if (BACKEND_JAVA.equals(backend)) {
      return Kind.JAVA;
    }
    throw new IllegalArgumentException(
        "platform '"
            + platform
            + "' / backend '"
            + backend
            + "' is not served here (supported: platform \"onnxruntime_onnx\", backend"
            + " \"onnxruntime\", backend \"java\")");
  }

  /** The platform reported in model metadata (Triton reports the backend name when no platform). */
  static String platform(ModelConfig config) {
    return config.getPlatform().isEmpty() ? config.getBackend() : config.getPlatform();
  }

  static String implementation(ModelConfig config) {
    return stringParameter(config, "implementation", "");
  }

  static String stringParameter(ModelConfig config, String key, String fallback) {
    ModelParameter p = config.getParametersMap().get(key);
    return p == null ? fallback : p.getStringValue();
  }

  static boolean decoupled(ModelConfig config) {
    return config.getModelTransactionPolicy().getDecoupled();
  }

  /** The full shape clients send: {@code [-1] + dims} when the model batches, else {@code dims}. */
  static long[] fullShape(ModelConfig config, List<Long> dims) {
    boolean batched = config.getMaxBatchSize() > 0;
    long[] shape = new long[dims.size() + (batched ? 1 : 0)];
    int i = 0;
    if (batched) {
      shape[i++] = -1;
    }
    for (long d : dims) {
      shape[i++] = d;
    }
    return shape;
  }
}

package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.DataType;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelInstanceGroup;
import ai.ferretstream.proto.inference.ModelOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigsTest {

  static final Path DEV = Path.of("model-repository");
  static final Path REAL = Path.of("..", "triton", "model-repository");
  static final List<String> MODELS =
      List.of("clip_vision", "dinov2_vision", "ferret_region_sampler", "ferret_llm");

  @Test
  void parsesTheCheckedInDevEncoderConfig() throws Exception {
    ModelConfig clip = ModelConfigs.read(DEV.resolve("clip_vision"));

    assertThat(clip.getName()).isEqualTo("clip_vision");
    assertThat(ModelConfigs.kind(clip)).isEqualTo(ModelConfigs.Kind.ONNX);
    assertThat(clip.getMaxBatchSize()).isEqualTo(32);
    assertThat(clip.hasDynamicBatching()).isTrue();
    ModelInput pixels = clip.getInput(0);
    assertThat(pixels.getName()).isEqualTo("pixels");
    assertThat(pixels.getDataType()).isEqualTo(DataType.TYPE_UINT8);
    assertThat(pixels.getFormat()).isEqualTo(ModelInput.Format.FORMAT_NHWC);
    assertThat(pixels.getDimsList()).containsExactly(336L, 336L, 3L);
    assertThat(ModelConfigs.fullShape(clip, pixels.getDimsList())).containsExactly(-1, 336, 336, 3);
    assertThat(clip.getOutput(0).getDataType()).isEqualTo(DataType.TYPE_FP16);
  }

  @Test
  void parsesTheDecoupledJavaLlmConfig() throws Exception {
    ModelConfig llm = ModelConfigs.read(DEV.resolve("ferret_llm"));

    assertThat(ModelConfigs.kind(llm)).isEqualTo(ModelConfigs.Kind.JAVA);
    assertThat(ModelConfigs.implementation(llm)).isEqualTo("ferret_llm_dev");
    assertThat(ModelConfigs.decoupled(llm)).isTrue();
    assertThat(ModelConfigs.platform(llm)).isEqualTo("java");
    assertThat(llm.getInputList())
        .filteredOn(ModelInput::getOptional)
        .extracting(ModelInput::getName)
        .containsExactly("sampling_parameters");
  }

  @Test
  void realDeploymentConfigsHaveTheSameContractsAsTheDevModels() throws Exception {
    for (String model : MODELS) {
      ModelConfig dev = regionWidthOpen(ModelConfigs.read(DEV.resolve(model)));
      ModelConfig real =
          regionWidthOpen(
              ModelConfigs.parse(
                  Files.readString(REAL.resolve(model).resolve("config.pbtxt")), model));

      assertThat(real.getName()).isEqualTo(model);
      assertThat(real.getInputList()).as(model + " inputs").isEqualTo(dev.getInputList());
      assertThat(real.getOutputList()).as(model + " outputs").isEqualTo(dev.getOutputList());
      assertThat(real.getMaxBatchSize()).as(model).isEqualTo(dev.getMaxBatchSize());
      assertThat(ModelConfigs.decoupled(real)).as(model).isEqualTo(ModelConfigs.decoupled(dev));
    }
  }

  /**
   * The one width the two repositories differ in: D, the LLM's hidden size, which the region
   * sampler's output and the LLM's region embeddings share (4096 for the real 7B model, 1024 for
   * the dev LLM).
   */
  @Test
  void theRegionWidthIsTheLlmsHiddenSizeInBothRepositoriesAndTheSameOnBothSides() throws Exception {
    assertThat(regionWidths(DEV)).containsExactly(1024L, 1024L);
    assertThat(regionWidths(REAL)).containsExactly(4096L, 4096L);
  }

  /** D as {@code ferret_region_sampler}'s output and {@code ferret_llm}'s input declare it. */
  private static List<Long> regionWidths(Path repository) throws Exception {
    ModelConfig sampler =
        ModelConfigs.parse(
            Files.readString(repository.resolve("ferret_region_sampler").resolve("config.pbtxt")),
            "ferret_region_sampler");
    ModelConfig llm =
        ModelConfigs.parse(
            Files.readString(repository.resolve("ferret_llm").resolve("config.pbtxt")),
            "ferret_llm");
    List<Long> out = sampler.getOutput(0).getDimsList();
    List<Long> in =
        llm.getInputList().stream()
            .filter(i -> i.getName().equals("region_embeddings"))
            .findFirst()
            .orElseThrow()
            .getDimsList();
    return List.of(out.get(out.size() - 1), in.get(in.size() - 1));
  }

  /** The config with D (see above) replaced by -1. */
  private static ModelConfig regionWidthOpen(ModelConfig config) {
    ModelConfig.Builder b = config.toBuilder();
    if (config.getName().equals("ferret_region_sampler")) {
      b.setOutput(0, config.getOutput(0).toBuilder().setDims(1, -1));
    }
    for (int i = 0; i < config.getInputCount(); i++) {
      if (config.getInput(i).getName().equals("region_embeddings")) {
        b.setInput(i, config.getInput(i).toBuilder().setDims(1, -1));
      }
    }
    return b.build();
  }

  @Test
  void realDeploymentsRunTheOnnxModelsOnGpuAndTheLlmOnPython() throws Exception {
    for (String encoder : List.of("clip_vision", "dinov2_vision")) {
      ModelConfig c =
          ModelConfigs.parse(
              Files.readString(REAL.resolve(encoder).resolve("config.pbtxt")), encoder);
      assertThat(c.getPlatform()).isEqualTo("onnxruntime_onnx");
      assertThat(c.hasDynamicBatching()).isTrue();
      assertThat(c.getInstanceGroupList())
          .extracting(ModelInstanceGroup::getKind)
          .containsExactly(ModelInstanceGroup.Kind.KIND_GPU);
    }
    // the exported GeoRegionSampler (triton/region-sampler): no Python backend needed
    ModelConfig sampler =
        ModelConfigs.parse(
            Files.readString(REAL.resolve("ferret_region_sampler").resolve("config.pbtxt")),
            "ferret_region_sampler");
    assertThat(sampler.getPlatform()).isEqualTo("onnxruntime_onnx");
    assertThat(sampler.getInstanceGroupList())
        .extracting(ModelInstanceGroup::getKind)
        .containsExactly(ModelInstanceGroup.Kind.KIND_GPU);
    ModelConfig llm =
        ModelConfigs.parse(
            Files.readString(REAL.resolve("ferret_llm").resolve("config.pbtxt")), "ferret_llm");
    assertThat(llm.getBackend()).isEqualTo("python");
  }

  @Test
  void skipsTritonFieldsThisServerDoesNotDeclare() {
    ModelConfig c =
        ModelConfigs.parse(
            """
            name: "m"
            platform: "onnxruntime_onnx"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
            instance_group [ { count: 2 kind: KIND_GPU profile: [ "0" ] } ]
            optimization { execution_accelerators {
              gpu_execution_accelerator : [ { name : "tensorrt"
                parameters { key: "precision_mode" value: "FP16" } } ] } }
            model_warmup [ { name: "w" batch_size: 1 } ]
            response_cache { enable: true }
            """,
            "inline");

    assertThat(c.getName()).isEqualTo("m");
    assertThat(c.getInstanceGroup(0).getCount()).isEqualTo(2);
    assertThat(c.getOutputList()).extracting(ModelOutput::getName).containsExactly("y");
  }

  @Test
  void rejectsTextThatIsNotAModelConfiguration() {
    assertThatThrownBy(() -> ModelConfigs.parse("name: \"m\"\ninput [ { name: ", "bad.pbtxt"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bad.pbtxt is not a valid model configuration");
  }

  @Test
  void takesTheDirectoryNameWhenTheConfigHasNoneAndRejectsAMismatch(@TempDir Path repo)
      throws Exception {
    String body =
        """
        platform: "onnxruntime_onnx"
        input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
        output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
        """;
    Path unnamed = Files.createDirectories(repo.resolve("unnamed"));
    Files.writeString(unnamed.resolve("config.pbtxt"), body);
    Path other = Files.createDirectories(repo.resolve("other"));
    Files.writeString(other.resolve("config.pbtxt"), "name: \"elsewhere\"\n" + body);

    assertThat(ModelConfigs.read(unnamed).getName()).isEqualTo("unnamed");
    assertThatThrownBy(() -> ModelConfigs.read(other))
        .hasMessageContaining("name 'elsewhere' differs from its directory 'other'");
  }

  @Test
  void listsEveryProblemOfAnUnusableConfig() {
    ModelConfig c =
        ModelConfigs.parse(
            """
            name: "m"
            backend: "tensorflow"
            max_batch_size: -1
            input [ { name: "x" dims: [ -2 ] }, { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """,
            "inline");

    assertThatThrownBy(() -> ModelConfigs.validate(c, "m/config.pbtxt"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("m/config.pbtxt")
        .hasMessageContaining("max_batch_size must be >= 0")
        .hasMessageContaining("backend 'tensorflow' is not served here")
        .hasMessageContaining("no output declared")
        .hasMessageContaining("duplicate input 'x'")
        .hasMessageContaining("input 'x' has no valid data_type")
        .hasMessageContaining("invalid dimension -2");
  }

  @Test
  void javaBackendNeedsAnImplementation() {
    ModelConfig c =
        ModelConfigs.parse(
            """
            name: "m"
            backend: "java"
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """,
            "inline");

    assertThatThrownBy(() -> ModelConfigs.validate(c, "m"))
        .hasMessageContaining("needs parameters { key: \"implementation\"");
  }

  @Test
  void refusesPreferredBatchSizesOutsideMaxBatchSizeAndNegativeInstanceCounts() {
    ModelConfig config =
        ModelConfigs.parse(
            """
            name: "m"
            platform: "onnxruntime_onnx"
            max_batch_size: 4
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
            dynamic_batching { preferred_batch_size: [ 2, 8 ] }
            instance_group [ { count: -1 } ]
            """,
            "m");

    assertThatThrownBy(() -> ModelConfigs.validate(config, "m/config.pbtxt"))
        .hasMessageContaining("preferred_batch_size 8 is outside 1..max_batch_size (4)")
        .hasMessageContaining("instance_group count must be >= 0, is -1");
  }
}

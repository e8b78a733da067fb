package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.onnxruntime.OrtEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxBackendTest {

  static final Path CLIP = Path.of("model-repository", "clip_vision");

  @Test
  void loadsTheDevEncoderWhoseGraphMatchesItsConfig() throws Exception {
    ModelConfig config = ModelConfigs.read(CLIP);

    try (OnnxBackend backend =
        OnnxBackend.load(OrtEnvironment.getEnvironment(), config, CLIP.resolve("1/model.onnx"))) {
      assertThat(backend).isNotNull();
    }
  }

  @Test
  void refusesToLoadWhenConfigAndGraphDifferNamingEachDifference() throws Exception {
    ModelConfig config = ModelConfigs.read(CLIP);
    ModelConfig wrong =
        config.toBuilder()
            .setInput(
                0,
                config.getInput(0).toBuilder()
                    .setName("image")
                    .setDataType(ai.ferretstream.proto.inference.DataType.TYPE_FP32))
            .setOutput(0, config.getOutput(0).toBuilder().clearDims().addDims(577).addDims(1024))
            .build();

    assertThatThrownBy(
            () ->
                OnnxBackend.load(
                    OrtEnvironment.getEnvironment(), wrong, CLIP.resolve("1/model.onnx")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not match config.pbtxt")
        .hasMessageContaining("config input 'image' is not in the graph")
        .hasMessageContaining("graph input 'pixels' is not declared in config.pbtxt")
        .hasMessageContaining("output 'features' dimension 1 is 577 in config.pbtxt but 576");
  }

  @Test
  void refusesAFixedBatchDimensionWhenTheConfigBatches() throws Exception {
    ModelConfig config = ModelConfigs.read(Path.of("model-repository", "ferret_region_sampler"));
    ModelConfig batched =
        config.toBuilder()
            .setMaxBatchSize(4)
            .setInput(
                0, config.getInput(0).toBuilder().clearDims().addDims(-1).addDims(-1).addDims(1024))
            .setInput(1, config.getInput(1).toBuilder().clearDims().addDims(512).addDims(2))
            .setOutput(0, config.getOutput(0).toBuilder().clearDims().addDims(1024))
            .build();

    assertThatThrownBy(
            () ->
                OnnxBackend.load(
                    OrtEnvironment.getEnvironment(),
                    batched,
                    Path.of("model-repository", "ferret_region_sampler", "1", "model.onnx")))
        .hasMessageContaining(
            "input 'points' has a fixed batch dimension 1 in the graph but max_batch_size is 4");
  }

  @Test
  void reportsAFileOnnxRuntimeCannotRead(@TempDir Path dir) throws Exception {
    Path broken = Files.writeString(dir.resolve("model.onnx"), "not a model");

    assertThatThrownBy(
            () ->
                OnnxBackend.load(OrtEnvironment.getEnvironment(), ModelConfigs.read(CLIP), broken))
        .hasMessageContaining("ONNX Runtime cannot load " + broken);
  }
}

package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.onnxruntime.OrtEnvironment;
import com.google.protobuf.ByteString;
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
  void anInputInNativeMemoryIsReadInPlaceWithTheSameResultAsACopiedOne() throws Exception {
    ModelConfig config = ModelConfigs.read(CLIP);
    int bytes = 336 * 336 * 3;
    byte[] pixels = new byte[bytes];
    new java.util.Random(7).nextBytes(pixels);
    java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(bytes + 16);
    direct.position(16); // a window inside a larger region, as a shared-memory placement is
    direct.put(pixels).position(16);
    long[] shape = {1, 336, 336, 3};
    String input = config.getInput(0).getName();
    String output = config.getOutput(0).getName();

    try (OnnxBackend backend =
        OnnxBackend.load(OrtEnvironment.getEnvironment(), config, CLIP.resolve("1/model.onnx"))) {
      Tensor copied =
          run(backend, new Tensor(input, "UINT8", shape, ByteString.copyFrom(pixels)), output);
      Tensor inPlace = run(backend, Tensor.view(input, "UINT8", shape, direct), output);

      assertThat(inPlace.name()).isEqualTo(output);
      assertThat(inPlace.byteSize()).isEqualTo(576L * 1024 * 2);
      assertThat(inPlace.data()).isEqualTo(copied.data());
    }
  }

  private static Tensor run(OnnxBackend backend, Tensor in, String output) {
    java.util.List<Tensor> out =
        TestTensors.execute(backend, java.util.Map.of(in.name(), in), 1, java.util.List.of(output));
    assertThat(out).hasSize(1);
    return out.get(0);
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

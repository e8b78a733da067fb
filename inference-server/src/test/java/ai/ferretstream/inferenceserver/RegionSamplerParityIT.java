package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.onnxruntime.OrtEnvironment;
import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The region sampler in its real architecture (triton/region-sampler: PyTorch reference, ONNX
 * export), random weights, served by this server's ONNX backend against the PyTorch reference on
 * the same inputs: real shapes (d = 1024, D = 4096) in FP32 within a relative error of 1e-3, and
 * the tiny configuration with the contract's FP16 output within FP16 rounding. Needs Debian's
 * python3-torch at /usr/bin/python3, as .ci/run installs.
 */
class RegionSamplerParityIT {

  static final String SCRIPT = "triton/region-sampler/parity_fixture.py";

  /** max |served − reference| / max |reference| over the output. */
  record Parity(double relativeError, int width) {}

  @Test
  void theReferencesUnitTestsPass() throws Exception {
    DevModelGeneratorIT.Result tests =
        DevModelGeneratorIT.run(
            Path.of("..").toAbsolutePath().normalize(),
            DevModelGeneratorIT.PYTHON.toString(),
            "-m",
            "unittest",
            "discover",
            "-s",
            "triton/region-sampler",
            "-v");

    assertThat(tests.exitCode()).as("%s", tests.output()).isZero();
    assertThat(tests.output()).contains("Ran 14 tests").contains("OK");
  }

  @Test
  void realShapesInFp32(@TempDir Path dir) throws Exception {
    for (Parity parity : serveAgainstReference(dir, false, "fp32")) {
      assertThat(parity.width()).isEqualTo(4096);
      assertThat(parity.relativeError()).as("%s", parity).isLessThanOrEqualTo(1e-3);
    }
  }

  @Test
  void tinyWithTheContractsFp16Output(@TempDir Path dir) throws Exception {
    for (Parity parity : serveAgainstReference(dir, true, "fp16")) {
      // FP16 keeps 11 significant bits: rounding alone may move an element by 2^-11 of itself
      assertThat(parity.relativeError()).as("%s", parity).isLessThanOrEqualTo(1e-3);
    }
  }

  private static List<Parity> serveAgainstReference(Path dir, boolean tiny, String outputType)
      throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    assertThat(Files.isExecutable(DevModelGeneratorIT.PYTHON))
        .as(
            "%s with python3-torch is needed (apt-get install python3-torch)",
            DevModelGeneratorIT.PYTHON)
        .isTrue();
    List<String> command =
        new ArrayList<>(
            List.of(
                DevModelGeneratorIT.PYTHON.toString(),
                SCRIPT,
                "--out",
                dir.toString(),
                "--output-type",
                outputType));
    if (tiny) {
      command.add("--tiny");
    }
    DevModelGeneratorIT.Result made = DevModelGeneratorIT.run(root, command.toArray(String[]::new));
    assertThat(made.exitCode()).as("parity_fixture.py:%n%s", made.output()).isZero();

    Path model = dir.resolve("ferret_region_sampler");
    ModelConfig config = ModelConfigs.read(model);
    List<Parity> results = new ArrayList<>();
    try (OnnxBackend backend =
        OnnxBackend.load(OrtEnvironment.getEnvironment(), config, model.resolve("1/model.onnx"))) {
      try (var cases = Files.list(dir.resolve("cases"))) {
        for (Path c : cases.sorted().toList()) {
          String[] shape = Files.readString(c.resolve("shape.txt")).trim().split(" ");
          long h = Long.parseLong(shape[0]);
          long w = Long.parseLong(shape[1]);
          long d = Long.parseLong(shape[2]);
          int width = Integer.parseInt(shape[3]);
          byte[] points = Files.readAllBytes(c.resolve("points.f32"));
          Map<String, Tensor> inputs =
              Map.of(
                  "features",
                  tensor("features", "FP16", new long[] {1, h, w, d}, c.resolve("features.f16")),
                  "points",
                  tensor(
                      "points",
                      "FP32",
                      new long[] {1, points.length / 8, 2},
                      c.resolve("points.f32")),
                  "fps_start",
                  tensor("fps_start", "INT64", new long[] {1}, c.resolve("fps_start.i64")));
          run(backend, inputs); // warm-up: the first call plans the graph
          long started = System.nanoTime();
          Tensor out = run(backend, inputs);
          double millis = (System.nanoTime() - started) / 1e6;
          float[] served = floats(out);
          float[] reference =
              TensorCodec.fp32ToFloats(Files.readAllBytes(c.resolve("expected.f32")));
          assertThat(served).hasSize(width).hasSameSizeAs(reference);
          double maxDiff = 0;
          double maxRef = 0;
          for (int i = 0; i < width; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(served[i] - reference[i]));
            maxRef = Math.max(maxRef, Math.abs(reference[i]));
          }
          assertThat(maxRef).as("the reference is not all zeros").isPositive();
          Parity parity = new Parity(maxDiff / maxRef, width);
          System.out.printf(
              "region sampler parity %s %s case %s (%dx%d map): %s, one call %.1f ms%n",
              tiny ? "tiny" : "real", outputType, c.getFileName(), h, w, parity, millis);
          results.add(parity);
        }
      }
    }
    assertThat(results).hasSize(3);
    return results;
  }

  private static Tensor tensor(String name, String type, long[] shape, Path file)
      throws java.io.IOException {
    return new Tensor(name, type, shape, ByteString.copyFrom(Files.readAllBytes(file)));
  }

  private static float[] floats(Tensor tensor) {
    byte[] bytes = tensor.data().toByteArray();
    return tensor.datatype().equals("FP16")
        ? TensorCodec.fp16ToFloats(bytes)
        : TensorCodec.fp32ToFloats(bytes);
  }

  private static Tensor run(OnnxBackend backend, Map<String, Tensor> inputs) {
    List<Tensor> out = TestTensors.execute(backend, inputs, 1, List.of("region_feature"));
    assertThat(out).hasSize(1);
    return out.get(0);
  }
}

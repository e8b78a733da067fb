package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The checked-in dev ONNX models are exactly what make_dev_models.py generates. Needs Debian's
 * python3-onnx and python3-numpy at /usr/bin/python3 (a documented test prerequisite that CI
 * installs): without them this test fails, it does not skip.
 */
class DevModelGeneratorIT {

  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final String SCRIPT = "inference-server/dev-models/make_dev_models.py";

  @Test
  void checkedInDevModelsMatchAFreshGeneration() throws Exception {
    Path repoRoot = Path.of("..").toAbsolutePath().normalize();
    assertThat(repoRoot.resolve(SCRIPT)).as("generator script").isRegularFile();
    assertThat(Files.isExecutable(PYTHON))
        .as(
            "%s is missing: install Debian's python3 with python3-onnx and python3-numpy"
                + " (apt-get install python3-onnx python3-numpy); this test needs them",
            PYTHON)
        .isTrue();
    Result imports = run(repoRoot, PYTHON.toString(), "-c", "import onnx, numpy");
    assertThat(imports.exitCode())
        .as(
            "%s cannot import onnx/numpy; install them with: apt-get install python3-onnx"
                + " python3-numpy%n%s",
            PYTHON, imports.output())
        .isZero();

    Result check = run(repoRoot, PYTHON.toString(), SCRIPT, "--check");

    assertThat(check.exitCode())
        .as("make_dev_models.py --check output:%n%s", check.output())
        .isZero();
    assertThat(check.output())
        .contains("ok ")
        .contains("clip_vision", "dinov2_vision", "ferret_region_sampler");
  }

  record Result(int exitCode, String output) {}

  static Result run(Path dir, String... command) throws IOException, InterruptedException {
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = process.getInputStream().readAllBytes();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("timed out: " + String.join(" ", command));
    }
    return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}

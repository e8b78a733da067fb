package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code triton/check-model-repository.sh}, which the compose {@code gpu} profile runs before
 * Triton: the checked-in repository holds configs only, so Triton must not start on it, and the
 * operator must learn which files are missing and how to produce them.
 */
class TritonModelRepositoryCheckTest {

  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final Path SCRIPT = REPO.resolve("triton/check-model-repository.sh");
  static final Path MODELS = REPO.resolve("triton/model-repository");

  /** Model directory -> the file its platform or backend loads. */
  static final List<String> MODEL_FILES =
      List.of(
          "clip_vision/1/model.onnx",
          "dinov2_vision/1/model.onnx",
          "ferret_region_sampler/1/model.onnx",
          "ferret_llm/1/model.py");

  @Test
  void refusesTheCheckedInRepositoryNamingEveryMissingFileAndHowToProduceIt() throws Exception {
    Result r = run(MODELS, "--", "echo", "triton started");

    assertThat(r.exit).as(r.output).isEqualTo(1);
    for (String file : MODEL_FILES) {
      assertThat(r.output).contains("MISSING: " + file);
    }
    assertThat(r.output)
        .contains("Bringing real encoder weights", "\"Filling the model repository\"")
        .contains("triton/region-sampler/export_onnx.py")
        .contains("4 model file(s) missing")
        .doesNotContain("triton started");
  }

  @Test
  void startsTritonOnceEveryModelFileIsThere(@TempDir Path dir) throws Exception {
    copy(MODELS, dir);
    for (String file : MODEL_FILES) {
      Files.createDirectories(dir.resolve(file).getParent());
      Files.createFile(dir.resolve(file));
    }

    Result r = run(dir, "--", "echo", "triton started");

    assertThat(r.exit).as(r.output).isZero();
    assertThat(r.output).contains("every model file of 4 model(s) is present", "triton started");
  }

  @Test
  void checksTheNewestVersionAndTheFileTheConfigNames(@TempDir Path dir) throws Exception {
    copy(MODELS, dir);
    for (String file : MODEL_FILES) {
      Files.createDirectories(dir.resolve(file).getParent());
      Files.createFile(dir.resolve(file));
    }
    // an engine instead of the ONNX export, in version 2: version 1's model.onnx does not count
    Path clip = dir.resolve("clip_vision/config.pbtxt");
    Files.writeString(
        clip,
        Files.readString(clip)
            .replace("platform: \"onnxruntime_onnx\"", "platform: \"tensorrt_plan\""));
    Files.createDirectories(dir.resolve("clip_vision/2"));
    // a file name of its own
    Path sampler = dir.resolve("ferret_region_sampler/config.pbtxt");
    Files.writeString(
        sampler, Files.readString(sampler) + "\ndefault_model_filename: \"sampler.onnx\"\n");

    Result r = run(dir);

    assertThat(r.exit).as(r.output).isEqualTo(1);
    assertThat(r.output)
        .contains("MISSING: clip_vision/2/model.plan (tensorrt_plan)")
        .contains("build a TensorRT engine")
        .contains("MISSING: ferret_region_sampler/1/sampler.onnx")
        .contains("2 model file(s) missing")
        .doesNotContain("dinov2_vision/1", "ferret_llm/1");
  }

  @Test
  void refusesADirectoryWithoutModels(@TempDir Path dir) throws Exception {
    Result r = run(dir);

    assertThat(r.exit).as(r.output).isEqualTo(1);
    assertThat(r.output).contains("holds no model");
  }

  // ------------------------------------------------------------------------------------------

  record Result(int exit, String output) {}

  private static Result run(Path repository, String... command) throws Exception {
    List<String> args =
        new ArrayList<>(List.of("/bin/sh", SCRIPT.toString(), repository.toString()));
    args.addAll(List.of(command));
    Process p = new ProcessBuilder(args).directory(REPO.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the check finished").isTrue();
    return new Result(p.exitValue(), out);
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}

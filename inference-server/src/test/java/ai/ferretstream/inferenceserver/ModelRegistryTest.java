package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import ai.ferretstream.inferenceserver.ModelRegistry.State;
import ai.ferretstream.proto.inference.ModelVersionPolicy;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRegistryTest {

  static final String ONNX_CONFIG =
      """
      platform: "onnxruntime_onnx"
      input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
      output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
      """;

  static void model(Path repo, String name, String config, String... versions) throws Exception {
    Path dir = Files.createDirectories(repo.resolve(name));
    Files.writeString(dir.resolve("config.pbtxt"), config);
    for (String v : versions) {
      Files.createDirectories(dir.resolve(v));
    }
  }

  @Test
  void servesTheLatestVersionByDefault(@TempDir Path repo) throws Exception {
    model(repo, "m", ONNX_CONFIG, "1", "3", "12", "notes");

    ModelRegistry registry = ModelRegistry.scan(repo);

    assertThat(registry.versions("m")).containsExactly("12");
  }

  @Test
  void followsAllAndSpecificVersionPolicies() {
    List<Long> present = List.of(1L, 2L, 5L);

    assertThat(ModelRegistry.select(policy("all {}"), present)).containsExactly(1L, 2L, 5L);
    assertThat(ModelRegistry.select(policy("latest { num_versions: 2 }"), present))
        .containsExactly(2L, 5L);
    assertThat(ModelRegistry.select(policy("specific { versions: [5, 1] }"), present))
        .containsExactly(1L, 5L);
    assertThatThrownBy(() -> ModelRegistry.select(policy("specific { versions: [4] }"), present))
        .hasMessageContaining("version(s) [4] that have no directory");
  }

  static ModelVersionPolicy policy(String text) {
    return ModelConfigs.parse("version_policy { " + text + " }", "policy").getVersionPolicy();
  }

  @Test
  void aBrokenModelIsUnavailableWithItsReasonAndTheOthersStillLoad(@TempDir Path repo)
      throws Exception {
    model(repo, "good", ONNX_CONFIG, "1");
    model(repo, "typo", "platfrom: \"onnxruntime_onnx\"\ninput [ { name: \"x\" } ]", "1");
    model(repo, "noversion", ONNX_CONFIG);

    ModelRegistry registry = ModelRegistry.scan(repo);
    List<String> failures = registry.loadAll((config, dir) -> new InferenceServiceTest.Echo());

    assertThat(registry.modelReady("good", "")).isTrue();
    assertThat(registry.serverReady()).isFalse();
    assertThat(failures).hasSize(2);
    assertThat(failures)
        .anySatisfy(f -> assertThat(f).startsWith("noversion: no version directory"));
    assertThat(failures)
        .anySatisfy(f -> assertThat(f).startsWith("typo: ").contains("no output declared"));
    assertThat(registry.find("typo", ""))
        .get()
        .extracting(Slot::state)
        .isEqualTo(State.UNAVAILABLE);
  }

  @Test
  void aJavaModelNeedsNoVersionDirectory(@TempDir Path repo) throws Exception {
    Files.createDirectories(repo.resolve("ferret_llm"));
    Files.copy(
        Path.of("model-repository", "ferret_llm", "config.pbtxt"),
        repo.resolve("ferret_llm").resolve("config.pbtxt"));

    ModelRegistry registry = ModelRegistry.scan(repo);
    List<String> failures = registry.loadAll(ModelRegistry.defaultLoader(() -> null));

    assertThat(failures).isEmpty();
    assertThat(registry.versions("ferret_llm")).containsExactly("1");
    assertThat(registry.serverReady()).isTrue();
  }

  @Test
  void unknownModelsAndVersionsAreNotFound(@TempDir Path repo) throws Exception {
    model(repo, "m", ONNX_CONFIG, "1");
    ModelRegistry registry = ModelRegistry.scan(repo);

    assertThatThrownBy(() -> registry.existing("x", ""))
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND))
        .hasMessageContaining("unknown model 'x' (this server has [m])");
    assertThatThrownBy(() -> registry.existing("m", "2"))
        .hasMessageContaining("model 'm' has no version '2' (versions: [1])");
    assertThatThrownBy(() -> registry.ready("m", "1"))
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void aMissingRepositoryIsAnError(@TempDir Path dir) {
    assertThatThrownBy(() -> ModelRegistry.scan(dir.resolve("absent")))
        .hasMessageContaining("is not a directory");
  }
}

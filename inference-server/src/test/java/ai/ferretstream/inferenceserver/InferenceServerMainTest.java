package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class InferenceServerMainTest {

  @Test
  void readsRepositoryAndPort() {
    assertThat(
            InferenceServerMain.parse(
                new String[] {"--model-repository", "repo", "--port", "9001"}))
        .isEqualTo(
            new InferenceServerMain.Options(Path.of("repo"), 9001, InferenceServer.METRICS_OFF));
    assertThat(InferenceServerMain.parse(new String[] {"--model-repository=r", "--port=0"}))
        .isEqualTo(new InferenceServerMain.Options(Path.of("r"), 0, InferenceServer.METRICS_OFF));
  }

  @Test
  void metricsAreOffUnlessAPortIsGiven() {
    assertThat(
            InferenceServerMain.parse(
                    new String[] {"--model-repository", "r", "--metrics-port", "8002"})
                .metricsPort())
        .isEqualTo(8002);
    assertThat(
            InferenceServerMain.parse(new String[] {"--model-repository", "r", "--metrics-port=0"})
                .metricsPort())
        .isZero();
    assertThatThrownBy(
            () ->
                InferenceServerMain.parse(
                    new String[] {"--model-repository", "r", "--metrics-port", "-3"}))
        .hasMessageContaining("--metrics-port must be 0..65535");
  }

  @Test
  void defaultsToTritonsGrpcPort() {
    assertThat(InferenceServerMain.parse(new String[] {"--model-repository", "r"}).port())
        .isEqualTo(8001);
  }

  @Test
  void rejectsMissingOrBadArguments() {
    assertThatThrownBy(() -> InferenceServerMain.parse(new String[0]))
        .hasMessageContaining("--model-repository is required");
    assertThatThrownBy(
            () ->
                InferenceServerMain.parse(new String[] {"--model-repository", "r", "--port", "x"}))
        .hasMessageContaining("--port needs a number");
    assertThatThrownBy(
            () ->
                InferenceServerMain.parse(
                    new String[] {"--port", "70000", "--model-repository", "r"}))
        .hasMessageContaining("--port must be 0..65535");
    assertThatThrownBy(() -> InferenceServerMain.parse(new String[] {"--verbose"}))
        .hasMessageContaining("unknown argument '--verbose'");
    assertThatThrownBy(() -> InferenceServerMain.parse(new String[] {"--model-repository"}))
        .hasMessageContaining("--model-repository needs a value");
  }

  @Test
  void helpReturnsNoOptions() {
    assertThat(InferenceServerMain.parse(new String[] {"--help"})).isNull();
  }
}

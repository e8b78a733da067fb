package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

class SamplingParametersTest {

  @Test
  void readsTheVllmStyleKeysAndIgnoresOthers() {
    SamplingParameters p =
        SamplingParameters.parse(
            "{\"max_tokens\": 64, \"temperature\": 0.2, \"top_p\": 0.9, \"seed\": 42,"
                + " \"stop\": [\"</s>\", \"###\"], \"presence_penalty\": 1.0}");

    assertThat(p.maxTokens()).isEqualTo(64);
    assertThat(p.temperature()).isEqualTo(0.2);
    assertThat(p.topP()).isEqualTo(0.9);
    assertThat(p.seed()).isEqualTo(42);
    assertThat(p.stop()).containsExactly("</s>", "###");
  }

  @Test
  void missingKeysTakeTheDefaultsAndASingleStopStringIsAccepted() {
    SamplingParameters p = SamplingParameters.parse("{\"stop\": \"END\"}");

    assertThat(p.maxTokens()).isEqualTo(Integer.MAX_VALUE);
    assertThat(p.stop()).containsExactly("END");
  }

  @Test
  void rejectsInvalidValuesNamingTheKey() {
    assertInvalid("not json", "not valid JSON");
    assertInvalid("[1, 2]", "must be a JSON object");
    assertInvalid("{\"max_tokens\": 0}", "max_tokens must be an integer >= 1");
    assertInvalid("{\"max_tokens\": 2.5}", "max_tokens must be an integer >= 1");
    assertInvalid("{\"temperature\": -1}", "temperature must be >= 0");
    assertInvalid("{\"temperature\": \"hot\"}", "temperature must be a number");
    assertInvalid("{\"top_p\": 0}", "top_p must be in (0, 1]");
    assertInvalid("{\"seed\": \"x\"}", "seed must be an integer");
    assertInvalid("{\"stop\": [1]}", "stop must hold strings");
    assertInvalid("{\"stop\": [\"\"]}", "must not hold empty strings");
  }

  private static void assertInvalid(String json, String message) {
    assertThatThrownBy(() -> SamplingParameters.parse(json))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining(message);
  }
}

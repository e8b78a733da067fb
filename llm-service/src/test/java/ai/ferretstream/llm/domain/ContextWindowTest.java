package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import org.junit.jupiter.api.Test;

class ContextWindowTest {

  /** 10 words. */
  private static final String PROMPT = "USER: <image>\none two three four five six ASSISTANT: ok";

  @Test
  void aRequestThatFitsMayGenerateWhatItAskedFor() {
    assertThat(new ContextWindow(100).check(60, 2, PROMPT, 28)).isEqualTo(28);
  }

  @Test
  void promptPlusMaxTokensBeyondTheContextIsRefusedNamingTheCounts() {
    ContextWindow window = new ContextWindow(100);
    assertThatThrownBy(() -> window.check(60, 2, PROMPT, 29))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("context_length_exceeded"))
        .hasMessage(
            "the conversation needs 72 tokens (60 image tokens, 2 regions, 10 text) plus"
                + " max_tokens 29 but the model's context is 100 tokens; shorten the history or"
                + " lower max_tokens");
  }

  @Test
  void withoutMaxTokensThePromptNeedsRoomForOneTokenAndMayUseTheRest() {
    ContextWindow window = new ContextWindow(100);
    assertThat(window.check(60, 1, PROMPT, 0)).isEqualTo(29);
    assertThat(window.check(88, 1, PROMPT, 0)).isEqualTo(1);
    assertThatThrownBy(() -> window.check(89, 1, PROMPT, 0))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("context_length_exceeded"))
        .hasMessage(
            "the conversation needs 100 tokens (89 image tokens, 1 region, 10 text) but the"
                + " model's context is 100 tokens; shorten the history");
  }

  @Test
  void aContextMustHoldATokenAtLeast() {
    assertThatThrownBy(() -> new ContextWindow(0)).isInstanceOf(IllegalArgumentException.class);
  }
}

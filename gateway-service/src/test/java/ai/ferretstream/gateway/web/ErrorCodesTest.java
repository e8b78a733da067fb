package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.Error;
import org.junit.jupiter.api.Test;

class ErrorCodesTest {

  @Test
  void aConversationBeyondTheModelsContextIsTheClientsFault() {
    Error error =
        Error.newBuilder()
            .setCode("context_length_exceeded")
            .setStage("llm-service")
            .setRetryable(false)
            .build();
    assertThat(ErrorCodes.status(error)).isEqualTo(400);
  }

  @Test
  void anUnknownPermanentErrorStaysAServerError() {
    assertThat(ErrorCodes.status(Error.newBuilder().setCode("context_gone").build()))
        .isEqualTo(500);
  }
}

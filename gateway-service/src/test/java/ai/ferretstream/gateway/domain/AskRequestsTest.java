package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.Turn;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class AskRequestsTest {

  @Test
  void buildsTheContextWithDeadlineReplyAddressAndAcceptanceTime() {
    ChatRequest request =
        new ChatRequest(
            "ferret-v2-dev",
            "Where is the cat?",
            List.of(Turn.newBuilder().setUser("hi").setAssistant("hello").build()),
            List.of(),
            new ImageData(new byte[] {1, 2, 3}, "image/png"),
            GenerationOptions.newBuilder().setMaxTokens(64).build(),
            true,
            true,
            false);
    ReplyTo replyTo =
        ReplyTo.newBuilder().setTopic("ferret.answers").setPartition(3).setInstance("g1").build();

    AskRequest ask =
        AskRequests.build(request, "chatcmpl-x", 1_000, Duration.ofSeconds(60), replyTo);

    assertThat(ask.getContext().getRequestId()).isEqualTo("chatcmpl-x");
    assertThat(ask.getContext().getCreatedUnixMs()).isEqualTo(1_000);
    assertThat(ask.getContext().getDeadlineUnixMs()).isEqualTo(61_000);
    assertThat(ask.getContext().getReplyTo()).isEqualTo(replyTo);
    assertThat(ask.getContext().getPrompt()).isEqualTo("Where is the cat?");
    assertThat(ask.getContext().getHistoryList()).hasSize(1);
    assertThat(ask.getContext().getGrounding()).isTrue();
    assertThat(ask.getContext().getModel()).isEqualTo("ferret-v2-dev");
    assertThat(ask.getContext().getOptions().getMaxTokens()).isEqualTo(64);
    assertThat(ask.getContext().getTimingsMap()).containsEntry(AskRequests.ACCEPTED, 1_000L);
    assertThat(ask.getImage().toByteArray()).containsExactly(1, 2, 3);
    assertThat(ask.getImageMediaType()).isEqualTo("image/png");
  }

  @Test
  void idsLookLikeOpenAiChatCompletionIds() {
    String a = AskRequests.newId();
    String b = AskRequests.newId();

    assertThat(a).startsWith("chatcmpl-").hasSize("chatcmpl-".length() + 36);
    assertThat(a).isNotEqualTo(b);
  }
}

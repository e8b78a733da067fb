package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AnswerStreamTest {

  private final AnswerStream stream = new AnswerStream("r", 640, 480, 4, () -> 42L);

  private List<AnswerEvent> feed(String... pieces) {
    List<AnswerEvent> out = new ArrayList<>();
    for (String p : pieces) {
      out.addAll(stream.onPiece(p));
    }
    return out;
  }

  @Test
  void oneDeltaEveryNPieces() {
    assertThat(feed("a", "b", "c")).isEmpty();
    List<AnswerEvent> events = feed("d", "e");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("abcd");
    assertThat(stream.flush()).extracting(e -> e.getDelta().getText()).containsExactly("e");
    assertThat(stream.flush()).isEmpty();
  }

  @Test
  void completedBoxFlushesItsDeltaThenFollowsIt() {
    List<AnswerEvent> events =
        feed("The", " cat", " is", " at", " [10", ", 20", ", 500", ", 999]", " and");
    assertThat(events).hasSize(3);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("The cat is at");
    assertThat(events.get(1).getDelta().getText()).isEqualTo(" [10, 20, 500, 999]");
    AnswerEvent box = events.get(2);
    assertThat(box.hasBox()).isTrue();
    assertThat(box.getBox().getPhrase()).isEqualTo("cat");
    assertThat(box.getBox().getBox999())
        .isEqualTo(Box.newBuilder().setX1(10).setY1(20).setX2(500).setY2(999).build());
    assertThat(box.getBox().getBoxPixels())
        .isEqualTo(Box.newBuilder().setX1(6).setY1(9).setX2(320).setY2(479).build());
    assertThat(box.getBox().getCharOffset()).isEqualTo("The cat is at [10, 20, 500, 999]".length());
  }

  @Test
  void boxCompletingMidBatchFlushesEarly() {
    List<AnswerEvent> events = feed("x [1, 2, 3, 4]", "y");
    assertThat(events).hasSize(2);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("x [1, 2, 3, 4]");
    assertThat(events.get(1).hasBox()).isTrue();
  }

  @Test
  void eventsAreNumberedFromZeroThroughDone() {
    List<AnswerEvent> events = new ArrayList<>(feed("a", "b", "c", "d", "[1, 2, 3, 4]"));
    events.addAll(stream.flush());
    events.add(stream.done("stop", UsageEstimate.of(10, 0, "a b", 5), Map.of("x", 1L), "m"));
    assertThat(events).extracting(AnswerEvent::getSeq).containsExactly(0L, 1L, 2L, 3L);
    assertThat(events).allSatisfy(e -> assertThat(e.getRequestId()).isEqualTo("r"));
    assertThat(events).allSatisfy(e -> assertThat(e.getCreatedUnixMs()).isEqualTo(42L));
    AnswerEvent done = events.get(3);
    assertThat(done.getDone().getFinishReason()).isEqualTo("stop");
    assertThat(done.getDone().getUsage().getPromptTokens()).isEqualTo(12);
    assertThat(done.getDone().getUsage().getCompletionTokens()).isEqualTo(5);
    assertThat(done.getDone().getTimingsMap()).containsEntry("x", 1L);
    assertThat(stream.pieces()).isEqualTo(5);
    assertThat(stream.text()).isEqualTo("abcd[1, 2, 3, 4]");
  }

  @Test
  void emittedTellsWhetherAnyEventWentOut() {
    feed("a", "b");
    assertThat(stream.emitted()).isFalse();
    feed("c", "d");
    assertThat(stream.emitted()).isTrue();
    AnswerEvent error = stream.error("llm-service", "inference_failed", "boom", false);
    assertThat(error.getSeq()).isEqualTo(1);
    assertThat(error.getError().getCode()).isEqualTo("inference_failed");
  }

  @Test
  void usageCountsImageTokensRegionsAndPromptWords() {
    assertThat(UsageEstimate.of(2880, 2, "  USER: <image>\nhello  world ", 7).getPromptTokens())
        .isEqualTo(2880 + 2 + 4);
  }
}

package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.TextDelta;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PendingRequestsTest {

  /** Records what a client would see. */
  static final class RecordingSink implements AnswerSink {
    final List<AnswerEvent> events = new ArrayList<>();
    final List<AnswerEvent> ends = new ArrayList<>();

    @Override
    public void event(AnswerEvent event) {
      events.add(event);
    }

    @Override
    public void end(AnswerEvent event) {
      ends.add(event);
    }

    List<String> texts() {
      return events.stream().map(e -> e.getDelta().getText()).toList();
    }
  }

  private final PendingRequests pending = new PendingRequests(4, "gateway-service");

  private static AnswerEvent delta(String id, long seq, String text) {
    return AnswerEvent.newBuilder()
        .setRequestId(id)
        .setSeq(seq)
        .setDelta(TextDelta.newBuilder().setText(text))
        .build();
  }

  private static AnswerEvent done(String id, long seq) {
    return AnswerEvent.newBuilder()
        .setRequestId(id)
        .setSeq(seq)
        .setDone(Done.newBuilder().setFinishReason("stop"))
        .build();
  }

  @Test
  void deliversEventsInOrderAndEndsOnDone() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);

    assertThat(pending.dispatch(delta("a", 0, "The"))).isTrue();
    assertThat(pending.dispatch(delta("a", 1, " red"))).isTrue();
    assertThat(pending.dispatch(done("a", 2))).isTrue();

    assertThat(sink.texts()).containsExactly("The", " red");
    assertThat(sink.ends).extracting(AnswerEvent::hasDone).containsExactly(true);
    assertThat(pending.isPending("a")).isFalse();
    assertThat(pending.size()).isZero();
  }

  @Test
  void dropsRedeliveredEventsBySequenceNumber() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);

    pending.dispatch(delta("a", 0, "The"));
    pending.dispatch(delta("a", 1, " red"));
    assertThat(pending.dispatch(delta("a", 1, " red"))).isFalse();
    assertThat(pending.dispatch(delta("a", 0, "The"))).isFalse();
    pending.dispatch(delta("a", 2, " box"));

    assertThat(sink.texts()).containsExactly("The", " red", " box");
  }

  @Test
  void anIdenticalRegenerationAfterAnLlmRestartContinuesTheAnswerSeamlessly() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);
    pending.dispatch(delta("a", 0, "The"));
    pending.dispatch(delta("a", 1, " red"));

    // the llm was killed; the request is generated again from seq 0, the same answer
    assertThat(pending.dispatch(delta("a", 0, "The"))).isFalse();
    assertThat(pending.dispatch(delta("a", 1, " red"))).isFalse();
    assertThat(pending.dispatch(delta("a", 2, " box"))).isTrue();
    assertThat(pending.dispatch(done("a", 3))).isTrue();

    assertThat(sink.texts()).containsExactly("The", " red", " box");
    assertThat(sink.ends).extracting(AnswerEvent::hasDone).containsExactly(true);
  }

  @Test
  void aDifferentRegenerationEndsTheAnswerWithAnErrorInsteadOfSplicingIt() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);
    pending.dispatch(delta("a", 0, "The"));
    pending.dispatch(delta("a", 1, " red"));

    // sampled again (temperature > 0) after an llm crash: another answer from seq 0
    assertThat(pending.dispatch(delta("a", 0, "A"))).isTrue();
    assertThat(pending.dispatch(delta("a", 1, " blue"))).isFalse();
    assertThat(pending.dispatch(delta("a", 2, " circle"))).isFalse();

    assertThat(sink.texts()).containsExactly("The", " red");
    assertThat(sink.ends).hasSize(1);
    assertThat(sink.ends.get(0).getError().getCode()).isEqualTo("answer_regenerated");
    assertThat(sink.ends.get(0).getError().getRetryable()).isTrue();
    assertThat(sink.ends.get(0).getError().getMessage()).contains("retry");
    assertThat(pending.isPending("a")).isFalse();
  }

  @Test
  void aRegenerationThatEndsEarlierIsAnErrorToo() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);
    pending.dispatch(delta("a", 0, "The"));
    pending.dispatch(delta("a", 1, " red"));

    assertThat(pending.dispatch(done("a", 1))).isTrue();

    assertThat(sink.texts()).containsExactly("The", " red");
    assertThat(sink.ends.get(0).getError().getCode()).isEqualTo("answer_regenerated");
  }

  @Test
  void anEventFarBeyondTheAnswerSoFarIsRefusedNotBuffered() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);
    pending.dispatch(delta("a", 0, "The"));

    assertThat(pending.dispatch(delta("a", 1L << 40, "far"))).isTrue();

    assertThat(sink.texts()).containsExactly("The");
    assertThat(sink.ends.get(0).getError().getCode()).isEqualTo("answer_out_of_order");
  }

  @Test
  void errorEventsEndTheRequestWhateverTheirSequence() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);
    pending.dispatch(delta("a", 0, "The"));

    AnswerEvent error = AnswerEvents.error("a", "tiler-service", "invalid_image", "bad", false);
    assertThat(error.getSeq()).isEqualTo(-1);
    assertThat(pending.dispatch(error)).isTrue();

    assertThat(sink.ends).containsExactly(error);
    assertThat(pending.dispatch(delta("a", 1, "late"))).isFalse();
    assertThat(sink.texts()).containsExactly("The");
  }

  @Test
  void ignoresEventsOfUnknownRequests() {
    assertThat(pending.dispatch(delta("nobody", 0, "x"))).isFalse();
  }

  @Test
  void endsOnlyOnce() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);

    pending.dispatch(done("a", 0));
    pending.dispatch(done("a", 1));
    pending.fail("a", "x", "y", true);

    assertThat(sink.ends).hasSize(1);
  }

  @Test
  void expiresRequestsPastTheirDeadlineWithDeadlineExceeded() {
    RecordingSink early = new RecordingSink();
    RecordingSink late = new RecordingSink();
    pending.register("early", 0, 1_000, early);
    pending.register("late", 0, 5_000, late);

    assertThat(pending.expire(999)).isEmpty();
    assertThat(pending.expire(1_000)).containsExactly("early");

    assertThat(early.ends).hasSize(1);
    AnswerEvent end = early.ends.get(0);
    assertThat(end.getError().getCode()).isEqualTo("deadline_exceeded");
    assertThat(end.getError().getStage()).isEqualTo("gateway-service");
    assertThat(late.ends).isEmpty();
    assertThat(pending.isPending("late")).isTrue();
    assertThat(pending.expire(10_000)).containsExactly("late");
    assertThat(pending.size()).isZero();
  }

  @Test
  void failsRequestsOfRevokedPartitionsWithARetryableError() {
    RecordingSink onZero = new RecordingSink();
    RecordingSink onOne = new RecordingSink();
    pending.register("zero", 0, Long.MAX_VALUE, onZero);
    pending.register("one", 1, Long.MAX_VALUE, onOne);

    assertThat(pending.failPartitions(Set.of(1))).containsExactly("one");

    assertThat(onOne.ends.get(0).getError().getCode()).isEqualTo("reply_partition_revoked");
    assertThat(onOne.ends.get(0).getError().getRetryable()).isTrue();
    assertThat(onZero.ends).isEmpty();
  }

  @Test
  void refusesRequestsBeyondCapacityUntilOneEnds() {
    for (int i = 0; i < 4; i++) {
      assertThat(pending.register("r" + i, 0, Long.MAX_VALUE, new RecordingSink())).isTrue();
    }
    assertThat(pending.register("r4", 0, Long.MAX_VALUE, new RecordingSink())).isFalse();
    assertThat(pending.size()).isEqualTo(4);

    assertThat(pending.forget("r0")).isTrue();
    assertThat(pending.register("r4", 0, Long.MAX_VALUE, new RecordingSink())).isTrue();
  }

  @Test
  void forgettingStopsDeliveryWithoutEndingTheSink() {
    RecordingSink sink = new RecordingSink();
    pending.register("a", 0, Long.MAX_VALUE, sink);

    assertThat(pending.forget("a")).isTrue();
    assertThat(pending.forget("a")).isFalse();
    assertThat(pending.dispatch(done("a", 0))).isFalse();

    assertThat(sink.ends).isEmpty();
  }

  @Test
  void refusesADuplicateId() {
    pending.register("a", 0, Long.MAX_VALUE, new RecordingSink());

    assertThatThrownBy(() -> pending.register("a", 0, Long.MAX_VALUE, new RecordingSink()))
        .isInstanceOf(IllegalStateException.class);
    assertThat(pending.size()).isEqualTo(1);
  }
}

package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.ReplyTargets;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AnswerPartitionsTest {

  private final TopicCatalog catalog = new TopicCatalog("p.");
  private final AtomicInteger partitions = new AtomicInteger(4);
  private final List<String> reads = new ArrayList<>();
  private final AtomicLong now = new AtomicLong(0);
  private final AnswerPartitions check =
      new AnswerPartitions(
          catalog,
          topic -> {
            reads.add(topic);
            return partitions.get();
          },
          Duration.ofSeconds(10),
          now::get);

  private static RequestContext replyTo(String topic, int partition) {
    return RequestContext.newBuilder()
        .setRequestId("r1")
        .setReplyTo(ReplyTo.newBuilder().setTopic(topic).setPartition(partition))
        .build();
  }

  @Test
  void passesTheAnswersTopicsPartitionsAndReadsTheCountOnce() {
    check.check(replyTo("", 0));
    check.check(replyTo("p.ferret.answers", 3));
    check.check(replyTo("", ReplyTargets.BY_KEY));
    check.check(RequestContext.newBuilder().setRequestId("r2").build());
    assertThat(reads).containsExactly("p.ferret.answers");
  }

  @Test
  void refusesAnotherTopicWithoutReadingAnything() {
    assertThatThrownBy(() -> check.check(replyTo("p.ferret.fused", 0)))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("'p.ferret.fused'")
        .satisfies(
            e ->
                assertThat(((PermanentFailure) e).code()).isEqualTo(ReplyTargets.INVALID_REPLY_TO));
    assertThat(reads).isEmpty();
  }

  @Test
  void refusesAMissingPartitionAndReadsAgainAtMostOncePerRefresh() {
    check.check(replyTo("", 1));
    assertThatThrownBy(() -> check.check(replyTo("", 99)))
        .isInstanceOf(PermanentFailure.class)
        .hasMessage(
            "reply_to.partition 99 is not a partition of p.ferret.answers (0..3, or -1 to"
                + " partition by key)");
    for (int i = 0; i < 100; i++) {
      assertThatThrownBy(() -> check.check(replyTo("", 4))).isInstanceOf(PermanentFailure.class);
    }
    assertThat(reads).hasSize(1);
    assertThatThrownBy(() -> check.check(replyTo("", -5))).isInstanceOf(PermanentFailure.class);
  }

  @Test
  void acceptsAPartitionAddedLaterOnceTheRefreshPassed() {
    check.check(replyTo("", 0));
    partitions.set(8);
    assertThatThrownBy(() -> check.check(replyTo("", 5))).isInstanceOf(PermanentFailure.class);
    now.addAndGet(Duration.ofSeconds(10).toNanos());
    assertThatCode(() -> check.check(replyTo("", 5))).doesNotThrowAnyException();
    assertThat(reads).hasSize(2);
  }

  @Test
  void aCountThatCannotBeReadIsATransientFailureUntilItCanBe() {
    AtomicInteger calls = new AtomicInteger();
    AnswerPartitions flaky =
        new AnswerPartitions(
            catalog,
            topic -> {
              if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("broker away");
              }
              return 2;
            },
            Duration.ofSeconds(10),
            now::get);
    assertThatThrownBy(() -> flaky.check(replyTo("", 1)))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("p.ferret.answers")
        .hasMessageContaining("broker away");
    assertThatCode(() -> flaky.check(replyTo("", 1))).doesNotThrowAnyException();
  }
}

package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import org.junit.jupiter.api.Test;

class ReplyTargetsTest {

  private final TopicCatalog catalog = new TopicCatalog("p.");

  private static RequestContext replyTo(String topic, int partition) {
    return RequestContext.newBuilder()
        .setRequestId("r1")
        .setReplyTo(ReplyTo.newBuilder().setTopic(topic).setPartition(partition))
        .build();
  }

  @Test
  void acceptsTheAnswersTopicOrNoneAndItsPartitionsOrByKey() {
    assertThat(ReplyTargets.problem(RequestContext.newBuilder().build(), catalog, 4)).isNull();
    assertThat(ReplyTargets.problem(replyTo("", -1), catalog, 4)).isNull();
    assertThat(ReplyTargets.problem(replyTo("", 0), catalog, 4)).isNull();
    assertThat(ReplyTargets.problem(replyTo("p.ferret.answers", 3), catalog, 4)).isNull();
    assertThat(ReplyTargets.partition(RequestContext.newBuilder().build()))
        .isEqualTo(ReplyTargets.BY_KEY);
  }

  @Test
  void refusesAnotherTopicWithItsNameInTheReason() {
    assertThat(ReplyTargets.problem(replyTo("p.ferret.fused", 0), catalog, 4))
        .isEqualTo(
            "reply_to.topic 'p.ferret.fused' is not the answers topic 'p.ferret.answers'"
                + " (leave it empty for the answers topic)");
    // the answers topic of another prefix is another topic
    assertThat(ReplyTargets.topicProblem(replyTo("ferret.answers", 0), catalog)).isNotNull();
  }

  @Test
  void refusesAPartitionTheAnswersTopicDoesNotHave() {
    assertThat(ReplyTargets.problem(replyTo("", 99), catalog, 4))
        .isEqualTo(
            "reply_to.partition 99 is not a partition of p.ferret.answers (0..3, or -1 to partition"
                + " by key)");
    assertThat(ReplyTargets.problem(replyTo("", 4), catalog, 4)).isNotNull();
    assertThat(ReplyTargets.problem(replyTo("", -2), catalog, 4)).isNotNull();
    assertThat(ReplyTargets.problem(replyTo("", Integer.MIN_VALUE), catalog, 4)).isNotNull();
    assertThat(ReplyTargets.problem(replyTo("", 0), catalog, 0))
        .isEqualTo(
            "reply_to.partition 0 is not a partition of p.ferret.answers (-1 to partition by key)");
  }

  @Test
  void quotesALongOrControlCharacterTopicShortAndPrintable() {
    String reason = ReplyTargets.topicProblem(replyTo("x".repeat(10_000) + "\n", 0), catalog);
    assertThat(reason).hasSizeLessThan(250).contains("x".repeat(100) + "...");
    assertThat(ReplyTargets.topicProblem(replyTo("a\nb", 0), catalog)).contains("'a?b'");
  }

  @Test
  void answersNeverGoToAnotherTopicWhateverTheContextSays() {
    RequestContext elsewhere = replyTo("p.ferret.fused", 1);
    assertThat(AnswerEvents.replyTopic(elsewhere, catalog)).isEqualTo("p.ferret.answers");
    var record =
        AnswerEvents.record(elsewhere, catalog, AnswerEvents.error("r1", "s", "c", "m", false));
    assertThat(record.topic()).isEqualTo("p.ferret.answers");
    assertThat(record.partition()).isEqualTo(1);
  }

  @Test
  void aNegativePartitionOtherThanByKeyIsNeverSentTo() {
    assertThat(AnswerEvents.replyPartition(replyTo("", -7))).isNull();
  }
}

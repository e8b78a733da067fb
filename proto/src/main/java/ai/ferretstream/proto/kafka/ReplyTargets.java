package ai.ferretstream.proto.kafka;

import ai.ferretstream.proto.v1.RequestContext;

/**
 * The one rule for a request's reply address ({@code RequestContext.reply_to}), which anyone who
 * can produce to {@code ferret.requests} chooses: answers go to the catalog's answers topic only,
 * and to one of its partitions or by key. {@code reply_to.topic} must be empty or exactly {@link
 * TopicCatalog#answers()}; {@code reply_to.partition} must be {@link #BY_KEY} or in {@code [0,
 * partitions of the answers topic)}. A request without {@code reply_to} is partitioned by key.
 *
 * <p>Requests are checked where they enter the pipeline (the tiler); a request that breaks the rule
 * fails with {@link #INVALID_REPLY_TO} and is dead-lettered. {@link AnswerEvents#replyTopic} never
 * names another topic whatever the context says.
 */
public final class ReplyTargets {

  /** The error code of a request whose {@code reply_to} names somewhere answers cannot go. */
  public static final String INVALID_REPLY_TO = "invalid_reply_to";

  /** {@code reply_to.partition} of a request whose answers are partitioned by key. */
  public static final int BY_KEY = -1;

  /** Longest piece of a client-chosen topic name quoted in a reason. */
  private static final int QUOTED = 100;

  private ReplyTargets() {}

  /**
   * Why the topic of {@code context}'s {@code reply_to} is refused, or {@code null} when it is
   * empty or the answers topic.
   */
  public static String topicProblem(RequestContext context, TopicCatalog catalog) {
    if (!context.hasReplyTo()) {
      return null;
    }
    String topic = context.getReplyTo().getTopic();
    if (topic.isEmpty() || topic.equals(catalog.answers())) {
      return null;
    }
    return "reply_to.topic '"
        + quote(topic)
        + "' is not the answers topic '"
        + catalog.answers()
        + "' (leave it empty for the answers topic)";
  }

  /**
   * The partition {@code context}'s {@code reply_to} names, or {@link #BY_KEY} when it has none.
   * Not checked: see {@link #partitionProblem}.
   */
  public static int partition(RequestContext context) {
    return context.hasReplyTo() ? context.getReplyTo().getPartition() : BY_KEY;
  }

  /**
   * Why the partition of {@code context}'s {@code reply_to} is refused, or {@code null} when it is
   * {@link #BY_KEY} or one of the answers topic's {@code answerPartitions} partitions.
   */
  public static String partitionProblem(
      RequestContext context, TopicCatalog catalog, int answerPartitions) {
    int partition = partition(context);
    if (partition == BY_KEY || (partition >= 0 && partition < answerPartitions)) {
      return null;
    }
    return "reply_to.partition "
        + partition
        + " is not a partition of "
        + catalog.answers()
        + " ("
        + (answerPartitions > 0 ? "0.." + (answerPartitions - 1) + ", or " : "")
        + BY_KEY
        + " to partition by key)";
  }

  /**
   * Why {@code context}'s {@code reply_to} is refused, or {@code null} when answers may go there.
   *
   * @param answerPartitions the partition count of {@link TopicCatalog#answers()}
   */
  public static String problem(RequestContext context, TopicCatalog catalog, int answerPartitions) {
    String topic = topicProblem(context, catalog);
    return topic != null ? topic : partitionProblem(context, catalog, answerPartitions);
  }

  private static String quote(String clientText) {
    String shown =
        clientText.length() <= QUOTED ? clientText : clientText.substring(0, QUOTED) + "...";
    StringBuilder out = new StringBuilder(shown.length());
    shown.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }
}

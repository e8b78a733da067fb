package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.ReplyTargets;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.RequestContext;
import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.springframework.kafka.core.KafkaAdmin;

/**
 * Checks the reply address of requests entering the pipeline against the answers topic ({@link
 * ReplyTargets}): its topic must be the answers topic, its partition one that topic has. The
 * partition count is read from the broker on first need and kept; a partition beyond it makes this
 * read it again, at most once per {@code refresh}, so a partition added to the topic is accepted
 * soon after, and a stream of bad partitions costs one metadata read per {@code refresh}.
 * Thread-safe.
 */
public final class AnswerPartitions {

  private final TopicCatalog catalog;
  private final ToIntFunction<String> partitionCount;
  private final long refreshNanos;
  private final LongSupplier nanoTime;
  private int count;
  private long readAt;

  /**
   * @param catalog the topic names
   * @param partitionCount reads the partition count of a topic from the broker; throws when it
   *     cannot
   * @param refresh least time between two reads
   * @param nanoTime a monotonic clock ({@code System::nanoTime})
   */
  public AnswerPartitions(
      TopicCatalog catalog,
      ToIntFunction<String> partitionCount,
      Duration refresh,
      LongSupplier nanoTime) {
    this.catalog = catalog;
    this.partitionCount = partitionCount;
    this.refreshNanos = refresh.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Reads the partition count with {@code admin} (the broker's own view: no stale metadata). */
  public static AnswerPartitions of(KafkaAdmin admin, TopicCatalog catalog, Duration refresh) {
    return new AnswerPartitions(
        catalog,
        topic -> admin.describeTopics(topic).get(topic).partitions().size(),
        refresh,
        System::nanoTime);
  }

  /**
   * Passes when answers of {@code context} may go where its {@code reply_to} says.
   *
   * @throws PermanentFailure {@link ReplyTargets#INVALID_REPLY_TO}, naming what is wrong
   * @throws TransientFailure when the partition count is needed and cannot be read
   */
  public void check(RequestContext context) {
    String topic = ReplyTargets.topicProblem(context, catalog);
    if (topic != null) {
      throw new PermanentFailure(ReplyTargets.INVALID_REPLY_TO, topic);
    }
    int partition = ReplyTargets.partition(context);
    if (partition == ReplyTargets.BY_KEY) {
      return;
    }
    String problem = ReplyTargets.partitionProblem(context, catalog, partitions(partition));
    if (problem != null) {
      throw new PermanentFailure(ReplyTargets.INVALID_REPLY_TO, problem);
    }
  }

  /** The partition count, read again first when {@code wanted} is beyond it and it is stale. */
  private synchronized int partitions(int wanted) {
    long now = nanoTime.getAsLong();
    boolean stale = count == 0 || now - readAt >= refreshNanos;
    if (wanted >= count && stale) {
      try {
        count = Math.max(count, partitionCount.applyAsInt(catalog.answers()));
      } catch (RuntimeException e) {
        if (count == 0) {
          throw new TransientFailure(
              "could not read the partitions of " + catalog.answers() + ": " + e.getMessage(), e);
        }
      } finally {
        readAt = now;
      }
    }
    return count;
  }
}

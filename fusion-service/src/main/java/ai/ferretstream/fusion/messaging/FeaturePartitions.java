package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.boot.kafka.TrackedPartitions;
import ai.ferretstream.fusion.domain.FeatureJoin;
import ai.ferretstream.fusion.domain.JoinBook;
import java.util.Collection;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * On partition revocation: waits (up to the send timeout) for the fused contexts of those
 * partitions' requests that are on their way to the broker, commits what may be committed, then
 * drops the joins fed by the revoked partitions; their new owner replays those records from the
 * committed offset and rebuilds the joins. Lost partitions are dropped without a commit.
 */
@Component
class FeaturePartitions extends TrackedPartitions {

  private static final Logger log = LoggerFactory.getLogger(FeaturePartitions.class);

  private final JoinBook book;
  private final long sendTimeoutMillis;

  FeaturePartitions(
      JoinBook book,
      OffsetTracker tracker,
      OffsetCommitter committer,
      FerretKafkaProperties kafka) {
    super(tracker, committer);
    this.book = book;
    this.sendTimeoutMillis = kafka.sendTimeout().toMillis();
  }

  /**
   * A dispatched join's offsets are released only when its fused context is acknowledged: wait for
   * that, or the commit would stay below it and the next owner would fuse the request again.
   */
  @Override
  protected void beforeRevokeCommit(List<SourcePartition> partitions) {
    try {
      if (!book.awaitDispatched(partitions, sendTimeoutMillis)) {
        log.warn(
            "fused contexts of partitions {} not acknowledged within {} ms; their requests may be"
                + " fused again by the next owner (the llm ignores the duplicate)",
            partitions,
            sendTimeoutMillis);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Reads the committed offsets' metadata of the new partitions: requests their previous owner
   * finished whose records will be replayed from there, to be ignored rather than fused again.
   */
  @Override
  public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    if (partitions.isEmpty()) {
      return;
    }
    try {
      java.util.Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed =
          consumer.committed(new java.util.HashSet<>(partitions));
      int remembered = 0;
      for (org.apache.kafka.clients.consumer.OffsetAndMetadata offset : committed.values()) {
        if (offset != null) {
          List<String> ids = OffsetCommitter.finishedIds(offset.metadata());
          book.rememberFinished(ids, System.currentTimeMillis());
          remembered += ids.size();
        }
      }
      if (remembered > 0) {
        log.info(
            "partitions {}: {} requests already finished by their previous owner",
            partitions,
            remembered);
      }
    } catch (org.apache.kafka.common.KafkaException e) {
      // without it a finished request whose records are replayed may be fused again: downstream
      // ignores the duplicate
      log.warn("could not read the committed offsets of {}: {}", partitions, e.getMessage());
    }
  }

  @Override
  protected void drop(List<SourcePartition> partitions) {
    List<FeatureJoin> dropped = book.drop(partitions);
    if (!dropped.isEmpty()) {
      log.info(
          "partitions {} moved away: dropped {} open joins, their records will be replayed",
          partitions,
          dropped.size());
    }
  }
}

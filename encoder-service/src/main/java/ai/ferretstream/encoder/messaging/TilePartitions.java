package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import java.util.Collection;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;

/**
 * On partition revocation: commits what may be committed, then drops the revoked partitions' tiles
 * still queued for a batch; their next owner replays them from the committed offset.
 */
public final class TilePartitions implements ConsumerAwareRebalanceListener {

  private static final Logger log = LoggerFactory.getLogger(TilePartitions.class);

  private final EncodingPipeline pipeline;
  private final OffsetTracker tracker;
  private final OffsetCommitter committer;

  public TilePartitions(
      EncodingPipeline pipeline, OffsetTracker tracker, OffsetCommitter committer) {
    this.pipeline = pipeline;
    this.tracker = tracker;
    this.committer = committer;
  }

  @Override
  public void onPartitionsRevokedBeforeCommit(
      Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    committer.commit(consumer, partitions);
    List<SourcePartition> lost = partitions.stream().map(OffsetCommitter::source).toList();
    int dropped = pipeline.drop(lost);
    lost.forEach(tracker::forget);
    if (dropped > 0) {
      log.info("partitions {} revoked: {} queued tiles left to their next owner", lost, dropped);
    }
  }
}

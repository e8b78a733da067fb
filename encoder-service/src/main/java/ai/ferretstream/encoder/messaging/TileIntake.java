package ai.ferretstream.encoder.messaging;

import ai.ferretstream.proto.kafka.OffsetTracker;
import ai.ferretstream.proto.kafka.SourcePartition;
import ai.ferretstream.proto.kafka.spring.OffsetCommitter;
import ai.ferretstream.proto.v1.Tile;
import java.util.Collection;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.event.ListenerContainerIdleEvent;
import org.springframework.kafka.listener.BatchConsumerAwareMessageListener;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;

/**
 * The consumer-thread side of the encoder: holds each polled tile's offset, refuses invalid tiles
 * at once (error event + dead letter), hands valid ones to the {@link EncodingPipeline}, and
 * commits, on this thread, what the {@link OffsetTracker} allows — after every poll, when the
 * consumer is idle (or paused), and before partitions are revoked. The container's ack mode is
 * MANUAL and nothing is acked: only this class commits.
 */
public final class TileIntake
    implements BatchConsumerAwareMessageListener<String, Tile>, ConsumerAwareRebalanceListener {

  private static final Logger log = LoggerFactory.getLogger(TileIntake.class);

  private final TileEncoder encoder;
  private final EncodingPipeline pipeline;
  private final OffsetTracker tracker;
  private final OffsetCommitter committer;

  public TileIntake(
      TileEncoder encoder,
      EncodingPipeline pipeline,
      OffsetTracker tracker,
      OffsetCommitter committer) {
    this.encoder = encoder;
    this.pipeline = pipeline;
    this.tracker = tracker;
    this.committer = committer;
  }

  @Override
  public void onMessage(List<ConsumerRecord<String, Tile>> records, Consumer<?, ?> consumer) {
    for (ConsumerRecord<String, Tile> record : records) {
      SourcePartition partition = new SourcePartition(record.topic(), record.partition());
      tracker.hold(partition, record.offset());
      RuntimeException invalid = encoder.validate(record);
      if (invalid == null) {
        pipeline.submit(record, partition);
      } else if (encoder.giveUp(record, invalid)) {
        tracker.release(partition, record.offset());
      } else {
        // stays held: commits stop here until a restart replays and refuses it again
        log.error("invalid tile {}@{} could not be dead-lettered", partition, record.offset());
      }
    }
    committer.commit(consumer);
  }

  /** Commits what finished while no records arrived (also while paused by back-pressure). */
  @EventListener
  public void onIdle(ListenerContainerIdleEvent event) {
    Consumer<?, ?> consumer = event.getConsumer();
    if (consumer != null) {
      committer.commit(consumer);
    }
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

package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.proto.v1.Tile;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.event.ListenerContainerIdleEvent;

/**
 * The consumer-thread side of the encoder: holds each polled tile's offset, refuses invalid tiles
 * at once (error event + dead letter), hands valid ones to the {@link EncodingPipeline}, and
 * commits, on this thread, what the {@link OffsetTracker} allows — after every poll and when the
 * consumer is idle (or paused). The container's ack mode is MANUAL and nothing is acked: only this
 * class commits. {@link TilePartitions} commits before partitions are revoked and drops their
 * queued tiles.
 */
public final class TileIntake {

  /** Listener (container) id. */
  public static final String ID = "encoder-tiles";

  /** The {@code containerPostProcessor} of the tiles container (see the encoder's config). */
  public static final String CONTAINER_SETUP = "tileContainerSetup";

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

  @KafkaListener(
      id = ID,
      idIsGroup = false,
      groupId = "#{@encoderInput.groupId()}",
      clientIdPrefix = "#{@encoderInput.groupId()}",
      topics = "#{@encoderInput.topic()}",
      concurrency = "${ferret.encoder.concurrency:1}",
      batch = "true",
      properties = "max.poll.records=${ferret.encoder.max-batch-size:16}",
      containerPostProcessor = CONTAINER_SETUP)
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
  @EventListener(condition = "event.listenerId.startsWith('" + ID + "')")
  public void onIdle(ListenerContainerIdleEvent event) {
    Consumer<?, ?> consumer = event.getConsumer();
    if (consumer != null) {
      committer.commit(consumer);
    }
  }
}

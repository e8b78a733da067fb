package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.boot.kafka.TrackedPartitions;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Partitions that move away leave their tiles still queued for a batch to their next owner, which
 * replays them from the committed offset.
 */
public final class TilePartitions extends TrackedPartitions {

  private static final Logger log = LoggerFactory.getLogger(TilePartitions.class);

  private final EncodingPipeline pipeline;

  public TilePartitions(
      EncodingPipeline pipeline, OffsetTracker tracker, OffsetCommitter committer) {
    super(tracker, committer);
    this.pipeline = pipeline;
  }

  @Override
  protected void drop(List<SourcePartition> partitions) {
    int dropped = pipeline.drop(partitions);
    if (dropped > 0) {
      log.info(
          "partitions {} moved away: {} queued tiles left to their next owner",
          partitions,
          dropped);
    }
  }
}

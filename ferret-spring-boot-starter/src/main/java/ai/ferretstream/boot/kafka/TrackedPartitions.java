package ai.ferretstream.boot.kafka;

import java.util.Collection;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;

/**
 * The rebalance listener of a consumer that commits through an {@link OffsetTracker}: before
 * partitions are revoked it commits what may be committed; revoked or lost, their tracked offsets
 * are forgotten and the service drops the work it holds for them ({@link #drop}), which their next
 * owner replays from the committed offset. A lost partition is not committed: this consumer no
 * longer owns it.
 */
public abstract class TrackedPartitions implements ConsumerAwareRebalanceListener {

  private final OffsetTracker tracker;
  private final OffsetCommitter committer;

  protected TrackedPartitions(OffsetTracker tracker, OffsetCommitter committer) {
    this.tracker = tracker;
    this.committer = committer;
  }

  /** Drops the work held for {@code partitions}; called before their offsets are forgotten. */
  protected abstract void drop(List<SourcePartition> partitions);

  /**
   * Called when {@code partitions} are revoked, before their offsets are committed: a service whose
   * work on them is still in flight may wait for it here (bounded), so it is committed, not redone.
   */
  protected void beforeRevokeCommit(List<SourcePartition> partitions) {}

  @Override
  public final void onPartitionsRevokedBeforeCommit(
      Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    if (!partitions.isEmpty()) {
      beforeRevokeCommit(partitions.stream().map(OffsetCommitter::source).toList());
    }
    committer.commit(consumer, partitions);
    release(partitions);
  }

  @Override
  public final void onPartitionsLost(
      Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    release(partitions);
  }

  private void release(Collection<TopicPartition> partitions) {
    if (partitions.isEmpty()) {
      return;
    }
    List<SourcePartition> sources = partitions.stream().map(OffsetCommitter::source).toList();
    drop(sources);
    sources.forEach(tracker::forget);
  }
}

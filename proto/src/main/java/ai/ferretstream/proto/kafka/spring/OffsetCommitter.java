package ai.ferretstream.proto.kafka.spring;

import ai.ferretstream.proto.kafka.OffsetTracker;
import ai.ferretstream.proto.kafka.SourcePartition;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits what the {@link OffsetTracker} allows, synchronously, from the consumer's own thread. A
 * failed commit is logged and retried at the next opportunity: committing later only means
 * replaying more after a crash.
 */
public final class OffsetCommitter {

  private static final Logger log = LoggerFactory.getLogger(OffsetCommitter.class);

  private final OffsetTracker tracker;

  public OffsetCommitter(OffsetTracker tracker) {
    this.tracker = tracker;
  }

  /** Commits the partitions assigned to {@code consumer}. */
  public void commit(Consumer<?, ?> consumer) {
    commit(consumer, consumer.assignment());
  }

  /** Commits the given partitions of {@code consumer}. */
  public void commit(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    List<SourcePartition> sources = new ArrayList<>(partitions.size());
    for (TopicPartition tp : partitions) {
      sources.add(source(tp));
    }
    Map<SourcePartition, Long> committable = tracker.committable(sources);
    if (committable.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    committable.forEach(
        (p, offset) ->
            offsets.put(
                new TopicPartition(p.topic(), p.partition()), new OffsetAndMetadata(offset)));
    try {
      consumer.commitSync(offsets);
      committable.forEach(tracker::committed);
    } catch (KafkaException e) {
      log.warn("could not commit {}; will retry: {}", offsets, e.getMessage());
    }
  }

  public static SourcePartition source(TopicPartition tp) {
    return new SourcePartition(tp.topic(), tp.partition());
  }
}

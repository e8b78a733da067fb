package ai.ferretstream.boot.kafka;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
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
                new TopicPartition(p.topic(), p.partition()),
                new OffsetAndMetadata(offset, metadata(tracker.finishedFrom(p, offset)))));
    try {
      consumer.commitSync(offsets);
      committable.forEach(tracker::committed);
    } catch (KafkaException e) {
      log.warn("could not commit {}; will retry: {}", offsets, e.getMessage());
    }
  }

  /** Prefix of offset metadata naming finished requests replayed from the committed offset. */
  static final String FINISHED_PREFIX = "ferret-finished:";

  /**
   * Room for request ids in the offset metadata: Kafka's default {@code offset.metadata.max.bytes}
   * is 4096.
   */
  static final int METADATA_LIMIT = 4000;

  /**
   * The commit's metadata: the ids of requests that finished although some of their records lie at
   * or after the committed offset, URL-encoded and comma-separated, newest kept when they do not
   * all fit (older ones then risk being processed again after a failover).
   */
  static String metadata(List<String> finished) {
    if (finished.isEmpty()) {
      return "";
    }
    StringBuilder out = new StringBuilder(FINISHED_PREFIX);
    List<String> encoded = new ArrayList<>(finished.size());
    int length = FINISHED_PREFIX.length();
    for (int i = finished.size() - 1; i >= 0; i--) {
      String id = URLEncoder.encode(finished.get(i), StandardCharsets.UTF_8);
      if (length + id.length() + 1 > METADATA_LIMIT) {
        log.warn(
            "{} finished requests do not fit the offset metadata; the {} oldest may be replayed",
            finished.size(),
            i + 1);
        break;
      }
      encoded.add(id);
      length += id.length() + 1;
    }
    Collections.reverse(encoded);
    out.append(String.join(",", encoded));
    return out.toString();
  }

  /** The finished request ids in a commit's metadata (empty for none or foreign metadata). */
  public static List<String> finishedIds(String metadata) {
    if (metadata == null || !metadata.startsWith(FINISHED_PREFIX)) {
      return List.of();
    }
    String body = metadata.substring(FINISHED_PREFIX.length());
    if (body.isEmpty()) {
      return List.of();
    }
    List<String> ids = new ArrayList<>();
    for (String part : body.split(",")) {
      ids.add(URLDecoder.decode(part, StandardCharsets.UTF_8));
    }
    return ids;
  }

  public static SourcePartition source(TopicPartition tp) {
    return new SourcePartition(tp.topic(), tp.partition());
  }
}

package ai.ferretstream.boot.kafka;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  private final long minIntervalNanos;
  // per consumer (a container may run several): when it last committed
  private final Map<Consumer<?, ?>, Long> lastCommit = new ConcurrentHashMap<>();

  /** Commits whenever asked. */
  public OffsetCommitter(OffsetTracker tracker) {
    this(tracker, Duration.ZERO);
  }

  /**
   * @param minInterval the least time between two commits of one consumer through {@link
   *     #commit(Consumer)}: each commit is a round trip to the group coordinator and a write to
   *     {@code __consumer_offsets}, too much to pay per record; a later record or idle event
   *     commits what was skipped (revocations commit at once)
   */
  public OffsetCommitter(OffsetTracker tracker, Duration minInterval) {
    this.tracker = tracker;
    this.minIntervalNanos = minInterval.toNanos();
  }

  /**
   * Commits the partitions assigned to {@code consumer}, unless it committed less than the minimum
   * interval ago.
   */
  public void commit(Consumer<?, ?> consumer) {
    if (minIntervalNanos > 0) {
      long now = System.nanoTime();
      Long last = lastCommit.get(consumer);
      if (last != null && now - last < minIntervalNanos) {
        return;
      }
      lastCommit.put(consumer, now);
    }
    commit(consumer, consumer.assignment());
  }

  /** Commits the given partitions of {@code consumer} now. */
  public void commit(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    List<SourcePartition> sources = new ArrayList<>(partitions.size());
    for (TopicPartition tp : partitions) {
      sources.add(source(tp));
    }
    Map<SourcePartition, OffsetTracker.Pending> pending = tracker.pending(sources);
    if (pending.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    pending.forEach(
        (p, commit) ->
            offsets.put(
                new TopicPartition(p.topic(), p.partition()),
                new OffsetAndMetadata(commit.offset(), metadata(commit.finished()))));
    try {
      consumer.commitSync(offsets);
      pending.forEach(tracker::committed);
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

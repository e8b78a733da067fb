package ai.ferretstream.gateway.messaging;

import ai.ferretstream.gateway.domain.PendingRequests;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;

/**
 * The {@code ferret.answers} partitions this instance's consumer owns (ADR: a reply partition per
 * instance, as Seldon Core v2's pipeline gateway does). A request names one of them, round-robin,
 * as its reply partition. When the group takes a partition away, the requests waiting on it fail at
 * once with a retryable error: their events would now reach another instance. The consumer uses the
 * cooperative-sticky assignor, so a rebalance moves only the partitions it must.
 */
public final class ReplyPartitions implements ConsumerAwareRebalanceListener {

  private static final Logger log = LoggerFactory.getLogger(ReplyPartitions.class);

  private final String topic;
  private final PendingRequests pending;
  private final TreeSet<Integer> owned = new TreeSet<>();
  private volatile int[] snapshot = new int[0];
  private final AtomicInteger next = new AtomicInteger();

  /**
   * @param topic the answers topic
   * @param pending the requests to fail when their partition is revoked
   */
  public ReplyPartitions(String topic, PendingRequests pending) {
    this.topic = topic;
    this.pending = pending;
  }

  /** A partition for the next request's answers, or empty while none is assigned. */
  public OptionalInt next() {
    int[] current = snapshot;
    if (current.length == 0) {
      return OptionalInt.empty();
    }
    return OptionalInt.of(current[Math.floorMod(next.getAndIncrement(), current.length)]);
  }

  /** The partitions owned now, ascending. */
  public List<Integer> owned() {
    List<Integer> list = new ArrayList<>();
    for (int p : snapshot) {
      list.add(p);
    }
    return list;
  }

  @Override
  public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    List<Integer> added = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      if (tp.topic().equals(topic)) {
        // resolve the start position now (latest, or the committed offset), so that no answer to
        // a request published from here on can land before it
        consumer.position(tp);
        added.add(tp.partition());
      }
    }
    update(added, List.of());
  }

  @Override
  public void onPartitionsRevokedBeforeCommit(
      Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    revoke(partitions, "revoked");
  }

  @Override
  public void onPartitionsLost(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    revoke(partitions, "lost");
  }

  private void revoke(Collection<TopicPartition> partitions, String how) {
    List<Integer> removed = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      if (tp.topic().equals(topic)) {
        removed.add(tp.partition());
      }
    }
    if (removed.isEmpty()) {
      return;
    }
    update(List.of(), removed);
    List<String> failed = pending.failPartitions(removed);
    if (!failed.isEmpty()) {
      log.warn(
          "answers partitions {} {}: failed {} pending requests with a retryable error",
          removed,
          how,
          failed.size());
    }
  }

  /** Records an assignment change (also used by tests). */
  synchronized void update(Collection<Integer> added, Collection<Integer> removed) {
    owned.addAll(added);
    owned.removeAll(removed);
    snapshot = owned.stream().mapToInt(Integer::intValue).toArray();
    log.info("answers partitions owned by this gateway instance: {}", owned);
  }
}

package ai.ferretstream.encoder.batching;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Forms cross-request batches the way Triton's dynamic batcher does: a batch closes as soon as it
 * holds {@code maxBatchSize} items, or when its oldest item has waited {@code maxQueueDelay},
 * whichever comes first; items leave in arrival order. Any number of workers may wait in {@link
 * #next()} at once, each getting its own batch.
 *
 * <p>Items may belong to groups of a known size (the tiles of one request): a batch also closes at
 * once when every group it would hold is complete. The delay is there to gather the rest of a group
 * that is still arriving, not to hold a lone request back for others that may never come (at low
 * load a request would otherwise wait the full delay for nothing).
 *
 * <p>The queue itself never blocks producers: the caller bounds it by watching {@link #size()} (the
 * encoder pauses its Kafka consumer above a high-water mark).
 *
 * @param <T> the queued item
 */
public final class TileBatcher<T> {

  private final int maxBatchSize;
  private final long maxDelayNanos;
  private final LongSupplier nanoClock;
  private final Function<T, Object> group;
  private final ToIntFunction<T> groupSize;
  private final ArrayDeque<Queued<T>> queue = new ArrayDeque<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private boolean closed;

  /**
   * @param maxBatchSize most items per batch
   * @param maxQueueDelay longest an item waits for a fuller batch (zero: take what is there)
   * @param nanoClock {@link System#nanoTime()} or a test clock
   */
  public TileBatcher(int maxBatchSize, Duration maxQueueDelay, LongSupplier nanoClock) {
    this(maxBatchSize, maxQueueDelay, nanoClock, item -> item, item -> Integer.MAX_VALUE);
  }

  /**
   * @param maxBatchSize most items per batch
   * @param maxQueueDelay longest an item waits for a fuller batch (zero: take what is there)
   * @param nanoClock {@link System#nanoTime()} or a test clock
   * @param group the group of an item (e.g. its request id)
   * @param groupSize how many items its group has in all
   */
  public TileBatcher(
      int maxBatchSize,
      Duration maxQueueDelay,
      LongSupplier nanoClock,
      Function<T, Object> group,
      ToIntFunction<T> groupSize) {
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("maxBatchSize must be positive: " + maxBatchSize);
    }
    if (maxQueueDelay.isNegative()) {
      throw new IllegalArgumentException("maxQueueDelay must not be negative");
    }
    this.maxBatchSize = maxBatchSize;
    this.maxDelayNanos = maxQueueDelay.toNanos();
    this.nanoClock = nanoClock;
    this.group = group;
    this.groupSize = groupSize;
  }

  /** Queues an item; returns the number queued afterwards. */
  public int add(T item) {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the batcher is closed");
      }
      queue.addLast(new Queued<>(item, nanoClock.getAsLong()));
      if (queue.size() == 1 || queue.size() >= maxBatchSize || completesGroup(item)) {
        changed.signalAll();
      }
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits for the next batch: up to {@code maxBatchSize} items, returned once the batch is full or
   * its oldest item has waited {@code maxQueueDelay}. Returns an empty list once closed.
   */
  public List<Batched<T>> next() throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (true) {
        if (closed) {
          return List.of();
        }
        if (queue.isEmpty()) {
          changed.await();
          continue;
        }
        if (queue.size() >= maxBatchSize || onlyCompleteGroups()) {
          break;
        }
        long waited = nanoClock.getAsLong() - queue.peekFirst().enqueuedNanos();
        long remaining = maxDelayNanos - waited;
        if (remaining <= 0) {
          break;
        }
        changed.awaitNanos(remaining);
      }
      int n = Math.min(queue.size(), maxBatchSize);
      long now = nanoClock.getAsLong();
      List<Batched<T>> batch = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Queued<T> q = queue.pollFirst();
        batch.add(new Batched<>(q.item(), now - q.enqueuedNanos()));
      }
      if (!queue.isEmpty()) {
        changed.signalAll(); // another waiting worker may take the rest
      }
      return batch;
    } finally {
      lock.unlock();
    }
  }

  /** Whether the queue now holds every item of {@code item}'s group. */
  private boolean completesGroup(T item) {
    Object key = group.apply(item);
    int queued = 0;
    for (Queued<T> q : queue) {
      if (key.equals(group.apply(q.item()))) {
        queued++;
      }
    }
    return queued >= groupSize.applyAsInt(item);
  }

  /** Whether the next batch would hold only complete groups (none still arriving). */
  private boolean onlyCompleteGroups() {
    Map<Object, Integer> counts = new HashMap<>();
    int n = 0;
    for (Queued<T> q : queue) {
      if (n++ == maxBatchSize) {
        break;
      }
      counts.merge(group.apply(q.item()), 1, Integer::sum);
    }
    n = 0;
    for (Queued<T> q : queue) {
      if (n++ == maxBatchSize) {
        break;
      }
      if (counts.get(group.apply(q.item())) < groupSize.applyAsInt(q.item())) {
        return false;
      }
    }
    return true;
  }

  /** Removes and returns the queued items that match (e.g. those of revoked partitions). */
  public List<T> removeIf(Predicate<T> filter) {
    lock.lock();
    try {
      List<T> removed = new ArrayList<>();
      for (Iterator<Queued<T>> it = queue.iterator(); it.hasNext(); ) {
        Queued<T> q = it.next();
        if (filter.test(q.item())) {
          removed.add(q.item());
          it.remove();
        }
      }
      return removed;
    } finally {
      lock.unlock();
    }
  }

  /** Items waiting for a batch. */
  public int size() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Wakes every waiting worker with an empty batch; queued items are dropped. */
  public void close() {
    lock.lock();
    try {
      closed = true;
      queue.clear();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private record Queued<T>(T item, long enqueuedNanos) {}

  /**
   * An item taken into a batch.
   *
   * @param item the item
   * @param queuedNanos how long it waited in the queue
   */
  public record Batched<T>(T item, long queuedNanos) {}
}

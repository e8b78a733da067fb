package ai.ferretstream.encoder.batching;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Forms cross-request batches the way Triton's dynamic batcher does: a batch closes as soon as it
 * holds {@code maxBatchSize} items, or when its oldest item has waited {@code maxQueueDelay},
 * whichever comes first; items leave in arrival order. Any number of workers may wait in {@link
 * #next()} at once, each getting its own batch.
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
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("maxBatchSize must be positive: " + maxBatchSize);
    }
    if (maxQueueDelay.isNegative()) {
      throw new IllegalArgumentException("maxQueueDelay must not be negative");
    }
    this.maxBatchSize = maxBatchSize;
    this.maxDelayNanos = maxQueueDelay.toNanos();
    this.nanoClock = nanoClock;
  }

  /** Queues an item; returns the number queued afterwards. */
  public int add(T item) {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the batcher is closed");
      }
      queue.addLast(new Queued<>(item, nanoClock.getAsLong()));
      if (queue.size() == 1 || queue.size() >= maxBatchSize) {
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
        if (queue.size() >= maxBatchSize) {
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

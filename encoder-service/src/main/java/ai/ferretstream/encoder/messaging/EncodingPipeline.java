package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.encoder.batching.TileBatcher;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Cross-request dynamic batching between the Kafka consumer and Triton: the consumer thread {@link
 * #submit submits} tiles; {@code workers} threads each take the next batch from a {@link
 * TileBatcher} (closed at {@code max-batch-size} tiles, after {@code max-queue-delay}, or at once
 * when it would hold only requests all of whose tiles are there), encode it and queue its features
 * for sending with the {@link TileEncoder}, and go on with the next batch; the tiles' offsets are
 * released in the {@link OffsetTracker} when the broker acknowledged the batch's outputs, and the
 * consumer thread commits them — never past a tile whose features are not durable. At most {@code
 * sendWindow} batches are between their model call and the acknowledgement of their features;
 * beyond that a worker waits before its next model call.
 *
 * <p>Back-pressure: when {@code queueCapacity} tiles wait, the consumer is paused (it keeps polling
 * for group membership, but fetches nothing); it resumes below half of that. The queue therefore
 * never holds more than {@code queueCapacity} plus one poll ({@code max.poll.records}) tiles, and
 * at most {@code workers} batches are at the server at once.
 *
 * <p>Stops after the listener container (lower phase): queued tiles are dropped uncommitted, so the
 * next owner of their partitions encodes them again; batches already at the server finish.
 */
public final class EncodingPipeline implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(EncodingPipeline.class);

  /** Below the listener containers' phase: starts before and stops after them. */
  static final int PHASE = Integer.MAX_VALUE - 200;

  private final TileEncoder encoder;
  private final OffsetTracker tracker;
  private final TileBatcher<Pending> batcher;
  private final int workers;
  private final int sendWindow;
  private final Semaphore sending;
  private final int queueCapacity;
  private final Duration retryDelay;
  private final Duration stopTimeout;
  private final Timer queueDelay;
  private final Counter pauses;
  private final AtomicBoolean paused = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  private volatile Runnable pause = () -> {};
  private volatile Runnable resume = () -> {};
  private volatile boolean running;

  /** A tile waiting for a batch, with where it came from. */
  record Pending(ConsumerRecord<String, Tile> record, SourcePartition partition) {}

  /**
   * @param encoder encodes, publishes and gives up tiles
   * @param tracker offsets held until their tile is settled
   * @param maxBatchSize most tiles per ModelInfer call
   * @param maxQueueDelay longest a tile waits for a fuller batch
   * @param workers batches in flight at once
   * @param sendWindow batches between their model call and the broker's acknowledgement of their
   *     outputs at once (at least {@code workers} for the workers to overlap sends and calls)
   * @param queueCapacity queued tiles at which the consumer is paused
   * @param retryDelay wait before retrying tiles whose give-up could not be sent
   * @param stopTimeout how long stopping waits for the batches in flight
   * @param meters metrics registry
   */
  public EncodingPipeline(
      TileEncoder encoder,
      OffsetTracker tracker,
      int maxBatchSize,
      Duration maxQueueDelay,
      int workers,
      int sendWindow,
      int queueCapacity,
      Duration retryDelay,
      Duration stopTimeout,
      MeterRegistry meters) {
    if (workers < 1 || sendWindow < 1 || queueCapacity < 1) {
      throw new IllegalArgumentException(
          "workers, send window and queue capacity must be positive");
    }
    this.encoder = encoder;
    this.tracker = tracker;
    // a request's tiles are one group: a batch holding only whole requests goes at once
    this.batcher =
        new TileBatcher<>(
            maxBatchSize,
            maxQueueDelay,
            System::nanoTime,
            p -> p.record().value().getContext().getRequestId(),
            p -> tilesOfRequest(p.record().value()));
    this.workers = workers;
    this.sendWindow = sendWindow;
    this.sending = new Semaphore(sendWindow);
    this.queueCapacity = queueCapacity;
    this.retryDelay = retryDelay;
    this.stopTimeout = stopTimeout;
    String role = encoder.role().id();
    this.queueDelay =
        Timer.builder("ferret.encoder.queue.delay")
            .description("Time a tile waited for its batch")
            .tag("role", role)
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.pauses =
        Counter.builder("ferret.encoder.pauses")
            .description("Times the consumer was paused because the batch queue was full")
            .tag("role", role)
            .register(meters);
    Gauge.builder("ferret.encoder.queue.size", batcher, TileBatcher::size)
        .description("Tiles waiting for a batch")
        .tag("role", role)
        .register(meters);
    Gauge.builder("ferret.encoder.paused", paused, p -> p.get() ? 1 : 0)
        .description("1 while the consumer is paused by back-pressure")
        .tag("role", role)
        .register(meters);
  }

  /** How many tiles of this tile's kind its request has: one global view, or its local tiles. */
  static int tilesOfRequest(Tile tile) {
    if (tile.getKind() == TileKind.TILE_KIND_GLOBAL) {
      return 1;
    }
    // unknown: wait for the batch to fill or the delay to pass
    return tile.getLocalCount() > 0 ? tile.getLocalCount() : Integer.MAX_VALUE;
  }

  /** How to pause and resume the consumer (the listener container). */
  public void attach(Runnable pause, Runnable resume) {
    this.pause = pause;
    this.resume = resume;
  }

  /** Queues a validated tile whose offset is held; pauses the consumer when the queue is full. */
  public void submit(ConsumerRecord<String, Tile> record, SourcePartition partition) {
    int queued = batcher.add(new Pending(record, partition));
    if (queued >= queueCapacity && paused.compareAndSet(false, true)) {
      pauses.increment();
      log.debug("{} tiles queued: pausing the consumer", queued);
      pause.run();
    }
  }

  /** Tiles waiting for a batch. */
  public int queued() {
    return batcher.size();
  }

  /** Whether back-pressure has paused the consumer. */
  public boolean paused() {
    return paused.get();
  }

  /** Drops the queued tiles of partitions this consumer lost; their next owner encodes them. */
  public int drop(Collection<SourcePartition> partitions) {
    Set<SourcePartition> lost = Set.copyOf(partitions);
    int dropped = batcher.removeIf(p -> lost.contains(p.partition())).size();
    maybeResume();
    return dropped;
  }

  /** Drops the queued tiles of a cancelled request, settling them. */
  public int cancel(String requestId) {
    List<Pending> dropped =
        batcher.removeIf(p -> p.record().value().getContext().getRequestId().equals(requestId));
    for (Pending p : dropped) {
      tracker.release(p.partition(), p.record().offset());
    }
    maybeResume();
    if (!dropped.isEmpty()) {
      log.debug("request {} cancelled: {} queued tiles dropped", requestId, dropped.size());
    }
    return dropped.size();
  }

  private void work() {
    while (running) {
      List<TileBatcher.Batched<Pending>> batch;
      try {
        batch = batcher.next();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (batch.isEmpty()) {
        return; // closed
      }
      maybeResume();
      List<ConsumerRecord<String, Tile>> records = new ArrayList<>(batch.size());
      for (TileBatcher.Batched<Pending> b : batch) {
        queueDelay.record(b.queuedNanos(), TimeUnit.NANOSECONDS);
        records.add(b.item().record());
      }
      try {
        sending.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return; // stopping: the offsets stay held, the tiles are replayed
      }
      TileEncoder.Processed processed;
      try {
        processed = encoder.process(records);
      } catch (InterruptedException e) {
        sending.release();
        Thread.currentThread().interrupt();
        return; // stopping: the offsets stay held, the tiles are replayed
      } catch (RuntimeException e) {
        log.error("unexpected failure encoding {} tiles; they will be retried", records.size(), e);
        processed = new TileEncoder.Processed(records, CompletableFuture.completedFuture(null));
      }
      List<ConsumerRecord<String, Tile>> unsettled = processed.unsettled();
      List<Pending> settled = new ArrayList<>(batch.size());
      for (TileBatcher.Batched<Pending> b : batch) {
        if (!unsettled.contains(b.item().record())) {
          settled.add(b.item());
        }
      }
      // the offsets go once the outputs are durable (or their failure was answered)
      processed
          .acks()
          .whenComplete(
              (ok, failure) -> {
                try {
                  for (Pending p : settled) {
                    tracker.release(p.partition(), p.record().offset());
                  }
                } finally {
                  sending.release();
                }
              });
      if (!unsettled.isEmpty() && !retryLater(batch, unsettled)) {
        return;
      }
    }
  }

  /** Queues tiles again after a pause, keeping their offsets held; false when stopping. */
  private boolean retryLater(
      List<TileBatcher.Batched<Pending>> batch, List<ConsumerRecord<String, Tile>> unsettled) {
    try {
      Thread.sleep(retryDelay.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    for (TileBatcher.Batched<Pending> b : batch) {
      if (unsettled.contains(b.item().record())) {
        try {
          batcher.add(b.item());
        } catch (IllegalStateException closed) {
          return false;
        }
      }
    }
    return true;
  }

  private void maybeResume() {
    if (paused.get() && batcher.size() <= queueCapacity / 2 && paused.compareAndSet(true, false)) {
      log.debug("batch queue drained: resuming the consumer");
      resume.run();
    }
  }

  @Override
  public synchronized void start() {
    if (running) {
      return;
    }
    running = true;
    for (int i = 0; i < workers; i++) {
      Thread t = new Thread(this::work, "encoder-" + encoder.role().id() + "-worker-" + i);
      t.start();
      threads.add(t);
    }
  }

  @Override
  public synchronized void stop() {
    running = false;
    batcher.close();
    long deadline = System.nanoTime() + stopTimeout.toNanos();
    for (Thread t : threads) {
      try {
        long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        t.join(left);
        if (t.isAlive()) {
          t.interrupt();
          t.join(1000);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    threads.clear();
    // let the last batches' sends finish before the producer closes (the container stopped first,
    // so their offsets stay uncommitted: the next owner encodes those tiles again, which fusion
    // takes as duplicates)
    try {
      long left = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      if (sending.tryAcquire(sendWindow, left, TimeUnit.MILLISECONDS)) {
        sending.release(sendWindow);
      } else {
        log.warn("stopped with features still unacknowledged: their tiles will be encoded again");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}

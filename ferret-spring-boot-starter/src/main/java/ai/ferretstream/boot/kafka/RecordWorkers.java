package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.TransientFailure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;

/**
 * Processes consumed records off the consumer thread, up to {@code window} at once, so that a slow
 * record (a long generation, a send waiting for its acknowledgement) neither blocks the records
 * behind it nor ties the work in flight to the partition count.
 *
 * <ul>
 *   <li><b>Commits only finished work</b>: each record's offset is held in the {@link
 *       OffsetTracker} from {@link #submit} until its processing ended, and the consumer thread
 *       commits through an {@link OffsetCommitter} — never past an unfinished record.
 *   <li><b>Back-pressure</b>: when {@code window} records are in flight the consumer is paused (it
 *       keeps polling for its group membership but fetches nothing) and resumed below three
 *       quarters of it; records of the poll that was under way when it filled up wait in a queue,
 *       so at most {@code window + max.poll.records} are held.
 *   <li><b>Failures</b> as the shared error handler treats them: a {@link TransientFailure} is
 *       retried up to {@code retries} times with a doubling back-off, then, like any other failure,
 *       handed to the recoverer (an error event to the waiting client and a dead-letter copy).
 *   <li><b>Stopping</b> (after the listener containers, lower phase): waits up to {@code
 *       stopTimeout} for the records in flight; what did not finish is not committed, so the next
 *       owner of its partition processes it again.
 * </ul>
 *
 * @param <V> the record value type
 */
public final class RecordWorkers<V> implements SmartLifecycle {

  /** The processing of one record. */
  @FunctionalInterface
  public interface Handler<V> {
    void handle(ConsumerRecord<String, V> record, long receivedMillis) throws InterruptedException;
  }

  /** Below the listener containers' phase: starts before and stops after them. */
  public static final int PHASE = Integer.MAX_VALUE - 200;

  private static final Logger log = LoggerFactory.getLogger(RecordWorkers.class);

  private final String name;
  private final Handler<V> handler;
  private final OffsetTracker tracker;
  private final ConsumerRecordRecoverer recoverer;
  private final int window;
  private final int retries;
  private final Duration backoff;
  private final Duration stopTimeout;
  private final ThreadPoolExecutor executor;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicBoolean paused = new AtomicBoolean();
  private final Counter pauses;
  private volatile Runnable pause = () -> {};
  private volatile Runnable resume = () -> {};
  private volatile boolean running;

  /**
   * @param name the work's name: thread names and the {@code name} tag of the metrics
   * @param window records in flight at once (threads)
   * @param retries retries of a transient failure
   * @param backoff first retry delay; doubles, up to ten times this
   */
  public RecordWorkers(
      String name,
      Handler<V> handler,
      OffsetTracker tracker,
      ConsumerRecordRecoverer recoverer,
      int window,
      int retries,
      Duration backoff,
      Duration stopTimeout,
      MeterRegistry meters) {
    if (window < 1) {
      throw new IllegalArgumentException("window must be positive");
    }
    this.name = name;
    this.handler = handler;
    this.tracker = tracker;
    this.recoverer = recoverer;
    this.window = window;
    this.retries = retries;
    this.backoff = backoff;
    this.stopTimeout = stopTimeout;
    AtomicInteger threads = new AtomicInteger();
    this.executor =
        new ThreadPoolExecutor(
            window,
            window,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, name + "-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.executor.allowCoreThreadTimeOut(true);
    this.pauses =
        Counter.builder("ferret.workers.pauses")
            .description("Times the consumer was paused because the work window was full")
            .tag("name", name)
            .register(meters);
    Gauge.builder("ferret.workers.in.flight", inFlight, AtomicInteger::get)
        .description("Records being processed off the consumer thread")
        .tag("name", name)
        .register(meters);
    Gauge.builder("ferret.workers.paused", paused, p -> p.get() ? 1 : 0)
        .description("1 while the consumer is paused because the work window is full")
        .tag("name", name)
        .register(meters);
  }

  /** How to pause and resume the consumer (the listener container). */
  public void attach(Runnable pause, Runnable resume) {
    this.pause = pause;
    this.resume = resume;
  }

  /**
   * Holds the record's offset and queues its processing; pauses the consumer when the window is
   * full. Called on the consumer thread.
   */
  public void submit(ConsumerRecord<String, V> record, long receivedMillis) {
    SourcePartition partition = new SourcePartition(record.topic(), record.partition());
    tracker.hold(partition, record.offset());
    int n = inFlight.incrementAndGet();
    if (n >= window && paused.compareAndSet(false, true)) {
      pauses.increment();
      log.debug("{}: {} records in flight, pausing the consumer", name, n);
      pause.run();
    }
    try {
      executor.execute(() -> run(record, partition, receivedMillis));
    } catch (RuntimeException e) {
      finished(partition, record.offset());
      throw e;
    }
  }

  /** Records in flight (running or queued). */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * Waits until no record of {@code partitions} is in flight, at most {@code timeout}: before their
   * offsets are committed on revocation, so that work in progress is not done twice.
   *
   * @return whether they all finished
   */
  public boolean awaitFinished(Collection<SourcePartition> partitions, Duration timeout)
      throws InterruptedException {
    return tracker.awaitReleased(partitions, timeout);
  }

  private void run(ConsumerRecord<String, V> record, SourcePartition partition, long received) {
    try {
      for (int attempt = 0; running; attempt++) {
        try {
          handler.handle(record, received);
          return;
        } catch (TransientFailure e) {
          if (attempt >= retries) {
            recover(record, e);
            return;
          }
          long delay = FerretKafka.retryDelayMillis(backoff, attempt);
          log.debug("{}: retrying {} in {} ms: {}", name, record.key(), delay, e.getMessage());
          Thread.sleep(delay);
        } catch (RuntimeException e) {
          recover(record, e);
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // stopping: the next owner processes it again
    } finally {
      finished(partition, record.offset());
    }
  }

  private void recover(ConsumerRecord<String, V> record, RuntimeException failure) {
    try {
      recoverer.accept(record, failure);
    } catch (RuntimeException e) {
      log.error(
          "{}: could not report the failure of record {}-{}@{} ({}): {}",
          name,
          record.topic(),
          record.partition(),
          record.offset(),
          failure.getMessage(),
          e.toString());
    }
  }

  private void finished(SourcePartition partition, long offset) {
    tracker.release(partition, offset);
    int n = inFlight.decrementAndGet();
    if (paused.get() && n <= window * 3 / 4 && paused.compareAndSet(true, false)) {
      log.debug("{}: {} records in flight, resuming the consumer", name, n);
      resume.run();
    }
  }

  @Override
  public void start() {
    running = true;
  }

  @Override
  public void stop() {
    running = false;
    executor.shutdown();
    try {
      if (!executor.awaitTermination(stopTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn(
            "{}: {} records still in flight after {}; interrupting them",
            name,
            inFlight.get(),
            stopTimeout);
        executor.shutdownNow();
        executor.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      executor.shutdownNow();
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

package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.TransientFailure;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes a consumed record's outputs without waiting for the broker: the consumer goes on with
 * the next record while the sends are acknowledged. The input's offset is held in the {@link
 * OffsetTracker} until every output is acknowledged, so a commit never passes an input whose
 * outputs are not durable. At most {@code window} inputs have sends in flight; beyond that {@link
 * #send} waits (bounded by the send timeout), which bounds the memory of multi-MB outputs.
 *
 * <p>Thread-safe.
 */
public final class AcknowledgedSends {

  private final DurablePublisher publisher;
  private final OffsetTracker tracker;
  private final Semaphore window;
  private final Duration timeout;

  public AcknowledgedSends(
      DurablePublisher publisher, OffsetTracker tracker, int window, Duration timeout) {
    if (window < 1) {
      throw new IllegalArgumentException("window must be positive");
    }
    this.publisher = publisher;
    this.tracker = tracker;
    this.window = new Semaphore(window);
    this.timeout = timeout;
  }

  /**
   * Sends {@code records}, the outputs of input {@code offset} of {@code partition}, and holds that
   * offset until all are acknowledged.
   *
   * @param onFailure called once, on the producer's thread (it must not block), when a send failed
   *     after the producer's own retries; the offset is released after it returns
   * @throws TransientFailure when the window stayed full for the send timeout, or the records could
   *     not be queued; nothing is held then
   */
  public CompletableFuture<Void> send(
      SourcePartition partition,
      long offset,
      List<ProducerRecord<String, Object>> records,
      Consumer<Throwable> onFailure) {
    try {
      if (!window.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new TransientFailure(
            "the broker acknowledged no earlier send within " + timeout + "; not sending more");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransientFailure("interrupted while waiting to publish", e);
    }
    tracker.hold(partition, offset);
    CompletableFuture<?>[] acks = new CompletableFuture<?>[records.size()];
    try {
      for (int i = 0; i < acks.length; i++) {
        acks[i] = publisher.sendAsync(records.get(i));
      }
    } catch (RuntimeException e) {
      // the queued ones may still go out; the input is processed again, and consumers are
      // idempotent on (request id, stage, index)
      tracker.release(partition, offset);
      window.release();
      throw e;
    }
    return CompletableFuture.allOf(acks)
        .handle(
            (ok, failure) -> {
              try {
                if (failure != null) {
                  onFailure.accept(failure);
                }
              } finally {
                tracker.release(partition, offset);
                window.release();
              }
              return null;
            });
  }
}

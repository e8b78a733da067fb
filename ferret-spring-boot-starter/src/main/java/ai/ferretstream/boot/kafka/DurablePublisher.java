package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.RequestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;

/**
 * Sends a set of records and waits until the broker acknowledged all of them, so that the listener
 * returns (and its offset is committed) only after its outputs are durable. Any failure is a {@link
 * TransientFailure}: the error handler retries the input record.
 */
public final class DurablePublisher {

  private final KafkaOperations<String, Object> kafka;
  private final Duration timeout;

  public DurablePublisher(KafkaOperations<String, Object> kafka, Duration timeout) {
    this.kafka = kafka;
    this.timeout = timeout;
  }

  public void sendAll(List<ProducerRecord<String, Object>> records) {
    List<CompletableFuture<?>> acks = new ArrayList<>(records.size());
    try {
      for (ProducerRecord<String, Object> record : records) {
        acks.add(kafka.send(record));
      }
      CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransientFailure("interrupted while publishing " + records.size() + " records", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new TransientFailure("publishing to Kafka failed: " + cause.getMessage(), cause);
    } catch (TimeoutException e) {
      throw new TransientFailure(
          "Kafka did not acknowledge " + records.size() + " records within " + timeout, e);
    } catch (RuntimeException e) {
      // send() itself fails for e.g. a full buffer or missing topic metadata
      throw new TransientFailure("publishing to Kafka failed: " + e.getMessage(), e);
    }
  }

  /**
   * Sends one record without waiting: the future completes when the broker acknowledged it (or
   * failed with the send's error after the producer's own retries). For callers that hold their
   * input's offset until then instead of blocking their consumer.
   *
   * @throws TransientFailure when the record cannot even be queued (buffer full for {@code
   *     max.block.ms}, no metadata)
   */
  public CompletableFuture<SendResult<String, Object>> sendAsync(
      ProducerRecord<String, Object> record) {
    try {
      return kafka.send(record);
    } catch (RuntimeException e) {
      throw new TransientFailure("publishing to Kafka failed: " + e.getMessage(), e);
    }
  }

  /**
   * Sends a request's client a retryable {@code stage_unavailable} error event without waiting: for
   * outputs whose send failed after the producer's own retries. If even that cannot be queued, logs
   * it; the client's deadline still ends its wait.
   */
  public void unavailableLater(
      RequestContext context, TopicCatalog catalog, String service, String message) {
    try {
      sendAsync(errorEvent(context, catalog, service, "stage_unavailable", message, true));
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(DurablePublisher.class)
          .error(
              "could not tell the client of {} either: {}", context.getRequestId(), e.toString());
    }
  }

  /** An error event that ends the request's answer stream, addressed to its reply partition. */
  public static ProducerRecord<String, Object> errorEvent(
      RequestContext context,
      TopicCatalog catalog,
      String service,
      String code,
      String message,
      boolean retryable) {
    return widen(
        AnswerEvents.record(
            context,
            catalog,
            AnswerEvents.error(context.getRequestId(), service, code, message, retryable)));
  }

  /** The same record with the wider value type our producer takes. */
  public static ProducerRecord<String, Object> widen(ProducerRecord<String, ?> record) {
    return new ProducerRecord<>(
        record.topic(), record.partition(), record.key(), record.value(), record.headers());
  }
}

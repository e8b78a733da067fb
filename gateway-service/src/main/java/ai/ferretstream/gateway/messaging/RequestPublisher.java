package ai.ferretstream.gateway.messaging;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaOperations;

/** Publishes requests to {@code ferret.requests} and cancellations to {@code ferret.control}. */
public final class RequestPublisher {

  private static final Logger log = LoggerFactory.getLogger(RequestPublisher.class);
  private final KafkaOperations<String, Object> kafka;
  private final TopicCatalog catalog;
  private final Duration sendTimeout;
  private final String producer;

  /**
   * @param kafka producer of protobuf values
   * @param catalog topic names
   * @param sendTimeout the longest wait for the broker's acknowledgement
   * @param producer this service's name, in the records' producer header
   */
  public RequestPublisher(
      KafkaOperations<String, Object> kafka,
      TopicCatalog catalog,
      Duration sendTimeout,
      String producer) {
    this.producer = producer;
    this.kafka = kafka;
    this.catalog = catalog;
    this.sendTimeout = sendTimeout;
  }

  /**
   * Publishes a request and waits until the broker has it.
   *
   * @throws PublishFailed if the broker did not acknowledge it in time
   */
  public void publish(AskRequest request) {
    String id = request.getContext().getRequestId();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.requests(), null, id, request);
    FerretHeaders.stamp(record.headers(), request.getContext(), "ferret.v1.AskRequest", producer);
    CompletableFuture<?> sent;
    try {
      sent = kafka.send(record);
    } catch (RuntimeException e) {
      throw new PublishFailed("could not enqueue the request: " + e.getMessage(), e);
    }
    try {
      sent.get(sendTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishFailed("interrupted while enqueueing the request", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new PublishFailed("could not enqueue the request: " + cause.getMessage(), cause);
    } catch (TimeoutException e) {
      sent.cancel(false);
      throw new PublishFailed(
          "the message broker did not acknowledge the request within " + sendTimeout, e);
    }
  }

  /** Tells every stage to drop a request; best effort, never throws. */
  public void cancel(String requestId, String reason) {
    Cancel cancel =
        Cancel.newBuilder()
            .setRequestId(requestId)
            .setReason(reason)
            .setCreatedUnixMs(System.currentTimeMillis())
            .build();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.control(), null, requestId, cancel);
    FerretHeaders.put(record.headers(), FerretHeaders.REQUEST_ID, requestId);
    FerretHeaders.put(record.headers(), FerretHeaders.VALUE_TYPE, "ferret.v1.Cancel");
    FerretHeaders.put(record.headers(), FerretHeaders.PRODUCER, producer);
    try {
      kafka
          .send(record)
          .whenComplete(
              (result, error) -> {
                if (error != null) {
                  log.warn("could not publish the cancellation of {}", requestId, error);
                }
              });
    } catch (RuntimeException e) {
      log.warn("could not publish the cancellation of {}", requestId, e);
    }
  }

  /** The broker did not take a request; the client gets 503. */
  public static final class PublishFailed extends RuntimeException {
    PublishFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }
}

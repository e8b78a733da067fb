package ai.ferretstream.fusion.messaging;

import ai.ferretstream.fusion.FusionApplication;
import ai.ferretstream.fusion.config.FusionProperties;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.RequestContext;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/** Publishes fused contexts and error events; every send is awaited. */
@Component
class FusionPublisher {

  private final KafkaTemplate<String, Object> template;
  private final TopicCatalog catalog;
  private final Duration sendTimeout;

  FusionPublisher(
      KafkaTemplate<String, Object> template, TopicCatalog catalog, FusionProperties properties) {
    this.template = template;
    this.catalog = catalog;
    this.sendTimeout = properties.fusion().sendTimeout();
  }

  void fused(FusedContext fused) {
    RequestContext context = fused.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.fused(), context.getRequestId(), fused);
    FerretHeaders.stamp(
        record.headers(), context, "ferret.v1.FusedContext", FusionApplication.SERVICE_NAME);
    send(record);
  }

  /** An error event that ends the request's answer stream. */
  void error(RequestContext context, String code, String message, boolean retryable) {
    AnswerEvent event =
        AnswerEvents.error(
            context.getRequestId(), FusionApplication.SERVICE_NAME, code, message, retryable);
    send(DurablePublisher.widen(AnswerEvents.record(context, catalog, event)));
  }

  private void send(ProducerRecord<String, Object> record) {
    try {
      template.send(record).get(sendTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransientFailure("interrupted while sending to " + record.topic(), e);
    } catch (ExecutionException e) {
      throw new TransientFailure(
          "could not send to " + record.topic() + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new TransientFailure(
          "the broker did not acknowledge a record on " + record.topic() + " in " + sendTimeout, e);
    }
  }
}

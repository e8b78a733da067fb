package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.RequestContext;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.stereotype.Component;

/**
 * Publishes fused contexts (not awaited: the caller finishes the join when the broker acknowledged)
 * and error events (awaited).
 */
@Component
class FusionPublisher {

  private final DurablePublisher publisher;
  private final TopicCatalog catalog;
  private final String service;

  FusionPublisher(DurablePublisher publisher, TopicCatalog catalog, ServiceName service) {
    this.publisher = publisher;
    this.catalog = catalog;
    this.service = service.value();
  }

  /** Sends a fused context; the future completes with the broker's acknowledgement. */
  CompletableFuture<?> fused(FusedContext fused) {
    RequestContext context = fused.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.fused(), context.getRequestId(), fused);
    FerretHeaders.stamp(record.headers(), context, "ferret.v1.FusedContext", service);
    return publisher.sendAsync(record);
  }

  /** An error event that ends the request's answer stream. */
  void error(RequestContext context, String code, String message, boolean retryable) {
    publisher.sendAll(
        List.of(DurablePublisher.errorEvent(context, catalog, service, code, message, retryable)));
  }

  /**
   * Tells the client, without waiting (for producer callbacks, which must not block), that its
   * fused context could not be published.
   */
  void unavailableLater(RequestContext context) {
    publisher.unavailableLater(
        context, catalog, service, "fusion-service could not publish the request's fused context");
  }
}

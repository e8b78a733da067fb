package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.RequestContext;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.springframework.stereotype.Component;

/** Publishes fused contexts and error events; every send is awaited. */
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

  void fused(FusedContext fused) {
    RequestContext context = fused.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.fused(), context.getRequestId(), fused);
    FerretHeaders.stamp(record.headers(), context, "ferret.v1.FusedContext", service);
    publisher.sendAll(List.of(record));
  }

  /** An error event that ends the request's answer stream. */
  void error(RequestContext context, String code, String message, boolean retryable) {
    AnswerEvent event =
        AnswerEvents.error(context.getRequestId(), service, code, message, retryable);
    publisher.sendAll(
        List.of(DurablePublisher.widen(AnswerEvents.record(context, catalog, event))));
  }
}

package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.RequestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Publishes a request's answer events to its reply partition. Sends go out as they come (the
 * idempotent producer keeps their order) and are awaited together before the listener returns, so
 * the fused record's offset is committed only after its answer is on the broker.
 */
@Component
class AnswerPublisher {

  private final KafkaTemplate<String, Object> template;
  private final TopicCatalog catalog;
  private final Duration sendTimeout;

  AnswerPublisher(
      KafkaTemplate<String, Object> template, TopicCatalog catalog, FerretKafkaProperties kafka) {
    this.template = template;
    this.catalog = catalog;
    this.sendTimeout = kafka.sendTimeout();
  }

  /** The answer stream of one request. */
  Sends sends(RequestContext context) {
    return new Sends(context);
  }

  final class Sends {
    private final RequestContext context;
    private final List<CompletableFuture<?>> pending = new ArrayList<>();

    private Sends(RequestContext context) {
      this.context = context;
    }

    void send(AnswerEvent event) {
      pending.add(
          template.send(DurablePublisher.widen(AnswerEvents.record(context, catalog, event))));
    }

    void send(List<AnswerEvent> events) {
      events.forEach(this::send);
    }

    /** Waits until the broker acknowledged every event sent. */
    void await() {
      long until = System.nanoTime() + sendTimeout.toNanos();
      try {
        for (CompletableFuture<?> f : pending) {
          f.get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TransientFailure("interrupted while publishing answer events", e);
      } catch (ExecutionException e) {
        throw new TransientFailure(
            "could not publish answer events: " + e.getCause().getMessage(), e.getCause());
      } catch (TimeoutException e) {
        throw new TransientFailure(
            "the broker did not acknowledge the answer events in " + sendTimeout, e);
      } finally {
        pending.clear();
      }
    }
  }
}

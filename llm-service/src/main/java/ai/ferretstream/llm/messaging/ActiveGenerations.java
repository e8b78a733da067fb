package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.kafka.CancelledRequests;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * The generations running on this instance, by request id. A request cancelled on {@code
 * ferret.control} ({@link CancelledRequests}, which remembers its id for a while) stops its
 * generation, or, when its fused context comes later, the generation it starts. Registering before
 * checking, and remembering (in {@link CancelledRequests}) before looking up, means a cancel racing
 * a start is always seen by one side.
 */
@Component
class ActiveGenerations {

  private final Map<String, Generation> active = new ConcurrentHashMap<>();
  private final CancelledRequests cancelled;

  ActiveGenerations(CancelledRequests cancelled, MeterRegistry registry) {
    this.cancelled = cancelled;
    cancelled.onCancelWithReason(
        (requestId, reason) ->
            cancel(requestId, reason.isEmpty() ? "cancelled by the client" : reason));
    Gauge.builder("ferret.llm.running.generations", active, Map::size)
        .description("generations streaming on this instance")
        .register(registry);
  }

  /** Registers a generation; it is already cancelled if its request was. */
  Generation start(String requestId) {
    Generation generation = new Generation();
    active.put(requestId, generation);
    if (cancelled.contains(requestId)) {
      generation.cancel("cancelled before generation started");
    }
    return generation;
  }

  void end(String requestId, Generation generation) {
    active.remove(requestId, generation);
  }

  /** Cancels the running generation of a request {@link CancelledRequests} remembers already. */
  private void cancel(String requestId, String reason) {
    Generation generation = active.get(requestId);
    if (generation != null) {
      generation.cancel(reason);
    }
  }
}

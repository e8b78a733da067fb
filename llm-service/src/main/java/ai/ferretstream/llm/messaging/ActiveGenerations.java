package ai.ferretstream.llm.messaging;

import ai.ferretstream.llm.config.LlmProperties;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * The generations running on this instance, by request id, and a bounded, expiring memory of
 * cancelled request ids, so a cancel that arrives before its request's fused context still stops
 * it. Registering before checking, and remembering before looking up, means a cancel racing a start
 * is always seen by one side.
 */
@Component
class ActiveGenerations {

  private final Map<String, Generation> active = new ConcurrentHashMap<>();
  private final LinkedHashMap<String, Long> cancelled = new LinkedHashMap<>();
  private final int capacity;
  private final long ttlMillis;
  private final Clock clock;

  ActiveGenerations(LlmProperties properties, Clock clock, MeterRegistry registry) {
    this.capacity = properties.llm().cancelledMemory();
    this.ttlMillis = properties.llm().cancelledTtl().toMillis();
    this.clock = clock;
    Gauge.builder("ferret.llm.running.generations", active, Map::size)
        .description("generations streaming on this instance")
        .register(registry);
  }

  /** Registers a generation; it is already cancelled if its request was. */
  Generation start(String requestId) {
    Generation generation = new Generation();
    active.put(requestId, generation);
    if (wasCancelled(requestId)) {
      generation.cancel("cancelled before generation started");
    }
    return generation;
  }

  void end(String requestId, Generation generation) {
    active.remove(requestId, generation);
  }

  /** Cancels the request's generation, now or when it starts. */
  void cancel(String requestId, String reason) {
    remember(requestId);
    Generation generation = active.get(requestId);
    if (generation != null) {
      generation.cancel(reason);
    }
  }

  private synchronized void remember(String requestId) {
    long now = clock.millis();
    cancelled.remove(requestId);
    cancelled.put(requestId, now + ttlMillis);
    Iterator<Map.Entry<String, Long>> it = cancelled.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Long> eldest = it.next();
      if (cancelled.size() > capacity || eldest.getValue() <= now) {
        it.remove();
      } else {
        break;
      }
    }
  }

  private synchronized boolean wasCancelled(String requestId) {
    Long expiry = cancelled.get(requestId);
    return expiry != null && expiry > clock.millis();
  }
}

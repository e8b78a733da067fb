package ai.ferretstream.gateway.messaging;

import ai.ferretstream.gateway.domain.PendingRequests;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Fails pending requests that passed their deadline plus grace with {@code deadline_exceeded}
 * (504), and cancels them downstream, so that no client waits forever on a lost answer.
 */
public final class DeadlineWatcher implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(DeadlineWatcher.class);

  private final PendingRequests pending;
  private final RequestPublisher publisher;
  private final Clock clock;
  private final Duration interval;
  private ScheduledExecutorService scheduler;

  public DeadlineWatcher(
      PendingRequests pending, RequestPublisher publisher, Clock clock, Duration interval) {
    this.pending = pending;
    this.publisher = publisher;
    this.clock = clock;
    this.interval = interval;
  }

  /** One sweep; returns the ids it failed. */
  public List<String> sweep() {
    List<String> expired = pending.expire(clock.millis());
    for (String id : expired) {
      log.warn("request {} passed its deadline without an answer", id);
      publisher.cancel(id, "deadline exceeded at the gateway");
    }
    return expired;
  }

  @Override
  public synchronized void start() {
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gateway-deadlines");
              t.setDaemon(true);
              return t;
            });
    scheduler.scheduleWithFixedDelay(
        () -> {
          try {
            sweep();
          } catch (RuntimeException e) {
            log.error("deadline sweep failed", e);
          }
        },
        interval.toMillis(),
        interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void stop() {
    if (scheduler != null) {
      scheduler.shutdownNow();
      scheduler = null;
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return scheduler != null;
  }
}

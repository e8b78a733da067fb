package ai.ferretstream.gateway.messaging;

import ai.ferretstream.boot.task.PeriodicTask;
import ai.ferretstream.gateway.domain.PendingRequests;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails pending requests that passed their deadline plus grace with {@code deadline_exceeded}
 * (504), and cancels them downstream, so that no client waits forever on a lost answer.
 */
public final class DeadlineWatcher extends PeriodicTask {

  private static final Logger log = LoggerFactory.getLogger(DeadlineWatcher.class);

  private final PendingRequests pending;
  private final RequestPublisher publisher;
  private final Clock clock;

  public DeadlineWatcher(
      PendingRequests pending, RequestPublisher publisher, Clock clock, Duration interval) {
    super("gateway-deadlines", interval);
    this.pending = pending;
    this.publisher = publisher;
    this.clock = clock;
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
  protected void runOnce() {
    sweep();
  }
}

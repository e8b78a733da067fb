package ai.ferretstream.fusion.messaging;

import ai.ferretstream.fusion.config.FusionProperties;
import ai.ferretstream.fusion.domain.FeatureJoin;
import ai.ferretstream.fusion.domain.JoinBook;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Fails joins whose deadline passed before all features arrived: each gets a {@code
 * deadline_exceeded} error event and is dropped; its offsets are committed by the listener.
 */
@Component
class JoinSweeper implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(JoinSweeper.class);

  private final JoinBook book;
  private final FusionPublisher publisher;
  private final Clock clock;
  private final Duration interval;
  private ScheduledExecutorService scheduler;

  JoinSweeper(JoinBook book, FusionPublisher publisher, Clock clock, FusionProperties properties) {
    this.book = book;
    this.publisher = publisher;
    this.clock = clock;
    this.interval = properties.fusion().sweepInterval();
  }

  /** Expires overdue joins now and tells their clients. */
  void sweep() {
    for (FeatureJoin join : book.expire(clock.millis())) {
      try {
        publisher.error(
            join.context(),
            "deadline_exceeded",
            "not all image features of the request arrived before its deadline",
            false);
      } catch (RuntimeException e) {
        log.error("could not publish the deadline error of request {}", join.requestId(), e);
      }
    }
  }

  @Override
  public synchronized void start() {
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "fusion-join-sweeper");
              t.setDaemon(true);
              return t;
            });
    scheduler.scheduleWithFixedDelay(
        () -> {
          try {
            sweep();
          } catch (RuntimeException e) {
            log.error("join sweep failed", e);
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

package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.task.PeriodicTask;
import ai.ferretstream.fusion.config.FusionProperties;
import ai.ferretstream.fusion.domain.FeatureJoin;
import ai.ferretstream.fusion.domain.JoinBook;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Fails joins whose deadline passed before all features arrived: each gets a {@code
 * deadline_exceeded} error event and is dropped; its offsets are committed by the listener.
 */
@Component
class JoinSweeper extends PeriodicTask {

  private static final Logger log = LoggerFactory.getLogger(JoinSweeper.class);

  private final JoinBook book;
  private final FusionPublisher publisher;
  private final Clock clock;

  JoinSweeper(JoinBook book, FusionPublisher publisher, Clock clock, FusionProperties properties) {
    super("fusion-join-sweeper", properties.fusion().sweepInterval());
    this.book = book;
    this.publisher = publisher;
    this.clock = clock;
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
  protected void runOnce() {
    sweep();
  }
}

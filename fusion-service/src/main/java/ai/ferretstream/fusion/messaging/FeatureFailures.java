package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.proto.v1.TileFeatures;
import java.time.Clock;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.RetryListener;
import org.springframework.stereotype.Component;

/**
 * Hears from the error handler when it gave up on a record (the client was told and the record
 * dead-lettered): the record counts as consumed, and the request's join ends, so its other records
 * are released and later ones ignored. Runs on the consumer thread.
 */
@Component
class FeatureFailures implements RetryListener {

  private static final Logger log = LoggerFactory.getLogger(FeatureFailures.class);

  private final JoinBook book;
  private final OffsetTracker tracker;
  private final Clock clock;

  FeatureFailures(JoinBook book, OffsetTracker tracker, Clock clock) {
    this.book = book;
    this.tracker = tracker;
    this.clock = clock;
  }

  @Override
  public void failedDelivery(ConsumerRecord<?, ?> record, Exception ex, int deliveryAttempt) {
    log.debug(
        "attempt {} on {}-{}@{} failed: {}",
        deliveryAttempt,
        record.topic(),
        record.partition(),
        record.offset(),
        ex.getMessage());
  }

  @Override
  public void recovered(ConsumerRecord<?, ?> record, Exception ex) {
    tracker.seen(new SourcePartition(record.topic(), record.partition()), record.offset());
    if (record.value() instanceof TileFeatures features
        && !features.getContext().getRequestId().isEmpty()) {
      book.finish(features.getContext().getRequestId(), clock.millis());
    }
  }
}

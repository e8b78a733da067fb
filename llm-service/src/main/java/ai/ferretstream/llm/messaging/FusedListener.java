package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.RecentIds;
import ai.ferretstream.boot.kafka.RecordWorkers;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.FusedContext;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.event.ListenerContainerIdleEvent;

/**
 * Consumes {@code ferret.fused} and hands each request to the generation workers, which answer up
 * to {@code ferret.llm.max-generations} requests at once whatever the partition count; the consumer
 * is paused while they are all busy. Offsets are committed on this thread, never past a request
 * whose answer is not yet on the broker.
 */
class FusedListener {

  static final String ID = "llm-fused";

  private static final Logger log = LoggerFactory.getLogger(FusedListener.class);

  private final RecordWorkers<FusedContext> generations;
  private final OffsetTracker tracker;
  private final OffsetCommitter committer;
  private final Clock clock;
  // requests answered (or being answered) here lately: a replayed FusedContext is ignored
  private final RecentIds answered =
      new RecentIds(100_000, Duration.ofMinutes(10), System::currentTimeMillis);
  private final Counter duplicates;

  FusedListener(
      RecordWorkers<FusedContext> generations,
      OffsetTracker tracker,
      OffsetCommitter committer,
      Clock clock,
      MeterRegistry meters) {
    this.generations = generations;
    this.tracker = tracker;
    this.committer = committer;
    this.clock = clock;
    this.duplicates =
        Counter.builder("ferret.llm.duplicates")
            .description("Fused contexts ignored because their request was answered already")
            .register(meters);
  }

  @KafkaListener(
      id = ID,
      idIsGroup = false,
      groupId = "${ferret.llm.group-id:llm}",
      topics = "#{@topicCatalog.fused()}",
      concurrency = "${ferret.llm.concurrency:1}",
      containerPostProcessor = "fusedContainerSetup")
  void onFused(ConsumerRecord<String, FusedContext> record, Consumer<?, ?> consumer) {
    long received = clock.millis();
    tracker.seen(new SourcePartition(record.topic(), record.partition()), record.offset());
    String id = record.value().getContext().getRequestId();
    if (id.isEmpty()) {
      throw new PermanentFailure("invalid_request", "fused context without a request id");
    }
    if (!answered.add(id)) {
      // a second FusedContext for the same request (fusion replayed it after a crash): the client
      // has (or is getting) its answer already
      duplicates.increment();
      log.info("ignoring a duplicate fused context of request {}", id);
    } else {
      generations.submit(record, received);
    }
    committer.commit(consumer);
  }

  /** Commits offsets freed while no records arrive (generations that finished since). */
  @EventListener(condition = "event.listenerId.startsWith('" + ID + "')")
  void onIdle(ListenerContainerIdleEvent event) {
    committer.commit(event.getConsumer());
  }
}

package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.fusion.domain.Fusion;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.event.ListenerContainerIdleEvent;
import org.springframework.stereotype.Component;

/**
 * Consumes {@code ferret.feature-notices}: offers each notice to the join book, fuses and publishes
 * a request once all its pieces are here (reading the named maps back only when fusion needs them),
 * answers expired and refused requests with an error event, and commits offsets only below the
 * oldest unfinished request. A request cancelled on {@code ferret.control} is dropped: its pending
 * join is finished at once (its records no longer hold offsets back; nothing is sampled or
 * published), and its later notices are passed over.
 */
@Component
class FeaturesListener {

  /** Listener (container) id. */
  static final String ID = "fusion-features";

  private static final Logger log = LoggerFactory.getLogger(FeaturesListener.class);

  private final JoinBook book;
  private final OffsetTracker tracker;
  private final Fusion fusion;
  private final FusionPublisher publisher;
  private final OffsetCommitter committer;
  private final Clock clock;

  private final MeterRegistry meters;
  private final CancelledRequests cancelled;
  private final Counter cancelledNotices;

  FeaturesListener(
      JoinBook book,
      OffsetTracker tracker,
      Fusion fusion,
      FusionPublisher publisher,
      OffsetCommitter committer,
      Clock clock,
      MeterRegistry meters,
      CancelledRequests cancelled) {
    this.meters = meters;
    this.cancelled = cancelled;
    this.cancelledNotices =
        Counter.builder("ferret.fusion.cancelled")
            .description("Feature notices passed over because their request was cancelled")
            .register(meters);
    // a join fused meanwhile is not undone: the llm drops the output of a cancelled request
    cancelled.onCancel(requestId -> book.finish(requestId, clock.millis()));
    this.book = book;
    this.tracker = tracker;
    this.fusion = fusion;
    this.publisher = publisher;
    this.committer = committer;
    this.clock = clock;
  }

  @KafkaListener(
      id = ID,
      idIsGroup = false,
      groupId = "${ferret.fusion.group-id:fusion}",
      topics = "#{@topicCatalog.featureNotices()}",
      concurrency = "${ferret.fusion.concurrency:1}",
      containerPostProcessor = "featuresContainerSetup")
  void onFeatures(ConsumerRecord<String, TileFeatures> record, Consumer<?, ?> consumer)
      throws InterruptedException {
    SourcePartition partition = new SourcePartition(record.topic(), record.partition());
    tracker.seen(partition, record.offset());
    TileFeatures features = record.value();
    if (cancelled.contains(features.getContext().getRequestId())) {
      cancelledNotices.increment(); // the client is gone: nothing to answer
      committer.commit(consumer);
      return;
    }
    JoinBook.Offer offer = book.offer(features, partition, record.offset(), clock.millis());
    String requestId = features.getContext().getRequestId();
    switch (offer.status()) {
      case READY -> {
        long start = System.nanoTime();
        FusedContext fused;
        CompletableFuture<?> ack;
        long fusedAt;
        try {
          fused = fusion.fuse(offer.join());
          fusedAt = System.nanoTime();
          ack = publisher.fused(fused);
        } catch (RuntimeException | InterruptedException e) {
          // nothing was published: the error handler retries the record (and so the fusion) or
          // gives up on it; interrupted, the container is stopping and the record is replayed
          book.undispatch(requestId);
          throw e;
        }
        String grid = fused.getLayout().getCols() + "x" + fused.getLayout().getRows();
        timer("ferret.fusion.join.wait", "From a request's first feature record to its last", grid)
            .record(start - offer.join().openedAtNanos(), TimeUnit.NANOSECONDS);
        timer("ferret.fusion.fuse", "Merging, fusing and sampling regions of one request", grid)
            .record(fusedAt - start, TimeUnit.NANOSECONDS);
        DistributionSummary.builder("ferret.fusion.fused.bytes")
            .description("Serialized size of a FusedContext")
            .baseUnit("bytes")
            .tag("grid", grid)
            .register(meters)
            .record(fused.getSerializedSize());
        // the join (and so its records' offsets) is finished once the broker has the output; the
        // consumer goes on meanwhile
        RequestContext context = fused.getContext();
        ack.whenComplete(
            (result, failure) -> {
              if (failure != null) {
                log.warn(
                    "could not publish the fused context of {}: {}", requestId, failure.toString());
                publisher.unavailableLater(context);
              }
              book.finish(requestId, clock.millis());
            });
        log.debug("fused request {}", requestId);
      }
      case EXPIRED -> {
        publisher.error(
            offer.context(),
            "deadline_exceeded",
            "the request's deadline passed while its image features were being joined",
            false);
        book.finish(requestId, clock.millis());
      }
      case REFUSED -> {
        publisher.error(
            offer.context(),
            "overloaded",
            "fusion-service has too many requests in progress; retry later",
            true);
        book.finish(requestId, clock.millis());
      }
      case WAITING, DUPLICATE, FINISHED -> {}
    }
    committer.commit(consumer);
  }

  /** Commits offsets freed while no records arrived (joins expired by the sweeper). */
  @EventListener(condition = "event.listenerId.startsWith('" + ID + "')")
  void onIdle(ListenerContainerIdleEvent event) {
    committer.commit(event.getConsumer());
  }

  private Timer timer(String name, String description, String grid) {
    return Timer.builder(name)
        .description(description)
        .tag("grid", grid)
        .publishPercentiles(0.5, 0.99)
        .register(meters);
  }
}

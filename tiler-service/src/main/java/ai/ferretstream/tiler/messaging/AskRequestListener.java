package ai.ferretstream.tiler.messaging;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.AcknowledgedSends;
import ai.ferretstream.boot.kafka.AnswerPartitions;
import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.ImageTiler.TiledImage;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.decode.ImageRefused;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.event.ListenerContainerIdleEvent;

/**
 * Consumes {@code ferret.requests}: refuses a request whose {@code reply_to} names another topic
 * than the answers topic or a partition it does not have ({@code invalid_reply_to}, dead-lettered,
 * see {@link AnswerPartitions}), passes over requests cancelled on {@code ferret.control} before
 * they came, drops expired requests with a {@code deadline_exceeded} error event, decodes and tiles
 * the image, and publishes the global view to {@code ferret.tiles.global} and the local tiles to
 * {@code ferret.tiles.local}. With the feature cache (ADR 0018) it first looks the image up: when
 * its features are cached it publishes their notices to {@code ferret.feature-notices} itself and
 * the request is neither tiled nor encoded; otherwise the tiles carry the key the encoders store
 * the features under. It does not wait for the broker's acknowledgements: the request's offset is
 * held until they all arrived ({@link AcknowledgedSends}) and commits never pass it; a send that
 * finally fails becomes a retryable error event for the client.
 *
 * <p>A bad image throws {@link PermanentFailure} ({@code invalid_image} / {@code image_too_large});
 * the shared error handler then sends the client an error event and dead-letters the request.
 */
public final class AskRequestListener {

  /** Listener (container) id. */
  public static final String ID = "tiler-requests";

  private static final Logger log = LoggerFactory.getLogger(AskRequestListener.class);

  private final ImageDecoder decoder;
  private final ImageTiler tiler;
  private final TopicCatalog catalog;
  private final DurablePublisher publisher;
  private final AcknowledgedSends sends;
  private final OffsetTracker tracker;
  private final OffsetCommitter committer;
  private final String service;
  private final Clock clock;
  private final MeterRegistry meters;
  private final Timer publishTimer;
  private final Counter globalTiles;
  private final Counter localTiles;
  private final Counter expired;
  private final SharedFeatureStore sharedStore;
  private final AnswerPartitions replyTargets;
  private final CancelledRequests cancelled;
  private final Counter cancelledRequests;
  private final FeatureCache cache;
  private final FeatureCacheKeys cacheKeys;

  /**
   * @param decoder image decoding with size limits
   * @param tiler grid choice, resampling and cutting
   * @param publisher producer of error events, waiting for the broker's acknowledgements
   * @param sends producer of tiles, holding the request's offset until they are acknowledged
   * @param tracker the offsets held by {@code sends}
   * @param committer commits what {@code tracker} allows
   * @param catalog topic names
   * @param service this service's name, for headers and error events
   * @param clock time source for deadlines and stage timings
   * @param meters metrics registry
   * @param sharedStore the host-local shared-memory store the tiles' pixels are written to (ADR
   *     0012), or {@code null}: the tiles then carry their pixels, as a tile the store cannot take
   *     does
   * @param replyTargets checks each request's reply address before anything is done with it
   * @param cancelled requests cancelled by their clients: not tiled
   * @param cache the feature cache (ADR 0018), or {@code null}: every request is tiled
   * @param cacheKeys makes an image's cache key; used only with {@code cache}
   */
  public AskRequestListener(
      ImageDecoder decoder,
      ImageTiler tiler,
      DurablePublisher publisher,
      AcknowledgedSends sends,
      OffsetTracker tracker,
      OffsetCommitter committer,
      TopicCatalog catalog,
      String service,
      Clock clock,
      MeterRegistry meters,
      SharedFeatureStore sharedStore,
      AnswerPartitions replyTargets,
      CancelledRequests cancelled,
      FeatureCache cache,
      FeatureCacheKeys cacheKeys) {
    if (cache != null && cacheKeys == null) {
      throw new IllegalArgumentException("a feature cache needs its keys");
    }
    this.cache = cache;
    this.cacheKeys = cacheKeys;
    this.sharedStore = sharedStore;
    this.replyTargets = replyTargets;
    this.cancelled = cancelled;
    this.sends = sends;
    this.tracker = tracker;
    this.committer = committer;
    this.decoder = decoder;
    this.tiler = tiler;
    this.catalog = catalog;
    this.publisher = publisher;
    this.service = service;
    this.clock = clock;
    this.meters = meters;
    this.publishTimer =
        Timer.builder("ferret.tiler.publish")
            .description(
                "Sending one request's tiles until the broker acknowledged all (off the consumer thread)")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.globalTiles =
        Counter.builder("ferret.tiler.tiles")
            .description("Tiles published")
            .tag("kind", "global")
            .register(meters);
    this.localTiles =
        Counter.builder("ferret.tiler.tiles")
            .description("Tiles published")
            .tag("kind", "local")
            .register(meters);
    this.expired =
        Counter.builder("ferret.tiler.expired")
            .description("Requests dropped because their deadline had passed")
            .register(meters);
    this.cancelledRequests =
        Counter.builder("ferret.tiler.cancelled")
            .description("Requests not tiled because their client had cancelled them")
            .register(meters);
  }

  @KafkaListener(
      id = ID,
      idIsGroup = false,
      groupId = "${ferret.tiler.group-id:tiler-service}",
      clientIdPrefix = "${spring.application.name}",
      topics = "#{@topicCatalog.requests()}",
      concurrency = "${ferret.tiler.concurrency:1}",
      containerPostProcessor = "requestsContainerSetup")
  public void onMessage(ConsumerRecord<String, AskRequest> record, Consumer<?, ?> consumer) {
    SourcePartition partition = new SourcePartition(record.topic(), record.partition());
    tracker.seen(partition, record.offset());
    try {
      tile(record, partition);
    } finally {
      committer.commit(consumer);
    }
  }

  /** Commits offsets freed while no records arrive (tiles acknowledged since). */
  @EventListener(condition = "event.listenerId.startsWith('" + ID + "')")
  public void onIdle(ListenerContainerIdleEvent event) {
    committer.commit(event.getConsumer());
  }

  private void tile(ConsumerRecord<String, AskRequest> record, SourcePartition partition) {
    AskRequest request = record.value();
    if (request == null) {
      throw new PermanentFailure("invalid_request", "the request record has no value");
    }
    RequestContext context = request.getContext();
    if (context.getRequestId().isEmpty()) {
      throw new PermanentFailure("invalid_request", "the request has no context.request_id");
    }
    // before anything is answered: reply_to is client input
    replyTargets.check(context);
    if (cancelled.contains(context.getRequestId())) {
      cancelledRequests.increment(); // the client is gone: nothing to answer
      log.debug("request {} cancelled before tiling", context.getRequestId());
      return;
    }
    long received = clock.millis();
    if (AnswerEvents.expired(context, received)) {
      expired.increment();
      log.debug("request {} expired before tiling", context.getRequestId());
      publisher.sendAll(
          List.of(
              DurablePublisher.errorEvent(
                  context,
                  catalog,
                  service,
                  "deadline_exceeded",
                  "the request's deadline passed before the image was tiled",
                  false)));
      return;
    }
    decoder.checkEncodedSize(request.getImage().size());
    if (cache != null) {
      FeatureCacheKey key = cacheKeys.of(request.getImage());
      if (fromCache(record, partition, context, key, received)) {
        return;
      }
      // the encoders store what they encode under the key
      context = context.toBuilder().setFeatureCache(key).build();
    }
    TiledImage tiled;
    try {
      long start = System.nanoTime();
      ImageDecoder.Decoded decoded = decoder.decodeWithInfo(request.getImage().toByteArray());
      long decodedAt = System.nanoTime();
      tiled = tiler.tile(decoded.image());
      long tiledAt = System.nanoTime();
      stageTimer("ferret.tiler.decode", "Decoding one image (EXIF orientation included)", decoded)
          .record(decodedAt - start, TimeUnit.NANOSECONDS);
      stageTimer("ferret.tiler.resize", "Resampling and cutting one image", decoded)
          .record(tiledAt - decodedAt, TimeUnit.NANOSECONDS);
      Counter.builder("ferret.tiler.grids")
          .description("Images tiled, by chosen grid (cols x rows) and resize mode")
          .tag("grid", tiled.plan().grid().toString())
          .tag("mode", tiled.plan().mode().label())
          .register(meters)
          .increment();
    } catch (ImageRefused e) {
      Counter.builder("ferret.tiler.refused")
          .description("Images refused, by reason")
          .tag("reason", e.reason().tag())
          .register(meters)
          .increment();
      log.debug("request {}: image refused: {}", context.getRequestId(), e.getMessage());
      throw e;
    }
    RequestContext stamped =
        context.toBuilder()
            .putTimings("tiler.received", received)
            .putTimings("tiler.done", clock.millis())
            .build();
    List<Tile> tiles = TileMessages.tiles(stamped, tiled, sharedStore);
    List<ProducerRecord<String, Object>> records = new ArrayList<>(tiles.size());
    for (Tile tile : tiles) {
      String topic =
          tile.getKind() == TileKind.TILE_KIND_GLOBAL
              ? catalog.tilesGlobal()
              : catalog.tilesLocal();
      records.add(TileMessages.record(topic, tile, service));
    }
    long sendStart = System.nanoTime();
    sends
        .send(
            partition,
            record.offset(),
            records,
            failure -> failedSend(stamped, tiles.size() - 1, failure))
        .thenRun(() -> publishTimer.record(System.nanoTime() - sendStart, TimeUnit.NANOSECONDS));
    globalTiles.increment();
    localTiles.increment(tiles.size() - 1);
    log.debug(
        "request {}: {}x{} image tiled on a {} grid",
        context.getRequestId(),
        tiled.plan().imageWidth(),
        tiled.plan().imageHeight(),
        tiled.plan().grid());
  }

  /**
   * Publishes the notices of the image's cached features for this request, when the cache has them
   * all; returns whether it did (otherwise the request is tiled).
   */
  private boolean fromCache(
      ConsumerRecord<String, AskRequest> record,
      SourcePartition partition,
      RequestContext context,
      FeatureCacheKey key,
      long received) {
    RequestContext stamped =
        context.toBuilder()
            .setFeatureCache(key.toBuilder().setHit(true))
            .putTimings("tiler.received", received)
            .putTimings("tiler.feature_cache_hit", clock.millis())
            .build();
    Optional<List<TileFeatures>> notices =
        cache.lookup(key, stamped, TileMessages.routing(stamped));
    if (notices.isEmpty()) {
      return false;
    }
    List<ProducerRecord<String, Object>> records = new ArrayList<>(notices.get().size());
    for (TileFeatures notice : notices.get()) {
      ProducerRecord<String, Object> out =
          new ProducerRecord<>(catalog.featureNotices(), context.getRequestId(), notice);
      FerretHeaders.stamp(out.headers(), notice.getContext(), NOTICE_TYPE, service);
      records.add(out);
    }
    long sendStart = System.nanoTime();
    sends
        .send(
            partition,
            record.offset(),
            records,
            failure -> {
              log.warn(
                  "could not publish the cached features of {}: {}",
                  context.getRequestId(),
                  failure.toString());
              publisher.unavailableLater(
                  stamped,
                  catalog,
                  service,
                  "tiler-service could not publish the request's cached features");
            })
        .thenRun(() -> publishTimer.record(System.nanoTime() - sendStart, TimeUnit.NANOSECONDS));
    log.debug(
        "request {}: features of image {} taken from the cache",
        context.getRequestId(),
        key.getDigest());
    return true;
  }

  static final String NOTICE_TYPE = "ferret.v1.TileFeatures";

  /**
   * The tiles could not all be published: the client gets a retryable error (not awaited), and the
   * request's tile files, if any, are removed (nobody will answer it).
   */
  private void failedSend(RequestContext context, int localCount, Throwable failure) {
    log.warn("could not publish the tiles of {}: {}", context.getRequestId(), failure.toString());
    if (sharedStore != null) {
      sharedStore.releaseTiles(context.getRequestId(), localCount);
    }
    publisher.unavailableLater(
        context, catalog, service, "tiler-service could not publish the request's tiles");
  }

  private Timer stageTimer(String name, String description, ImageDecoder.Decoded decoded) {
    return Timer.builder(name)
        .description(description)
        .tag("format", decoded.format().name().toLowerCase(java.util.Locale.ROOT))
        .publishPercentiles(0.5, 0.99)
        .register(meters);
  }
}

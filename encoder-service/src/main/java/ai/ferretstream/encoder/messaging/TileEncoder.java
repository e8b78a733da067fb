package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.EncodedBatch;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.log.LogAccessor;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.support.KafkaUtils;
import org.springframework.kafka.support.SendResult;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.SerializationUtils;

/**
 * Encodes batches of tiles (of any number of requests) in one {@code ModelInfer} call each and
 * publishes one {@code TileFeatures} per tile to {@code ferret.features} without waiting for the
 * broker; once the broker has acknowledged a batch's feature records, one small notice per record
 * (the record less its maps, with where it lies) goes to {@code ferret.feature-notices}, which is
 * what fusion joins on (ADR 0009). With the host-local shared-memory feature store (ADR 0011), a
 * tile's maps are written there instead, straight from the batch's slot, and its notice, naming the
 * file, goes at once; a map the store cannot take goes to Kafka as above. {@link #process} returns
 * once the feature sends are queued, with a future of the notices' acknowledgements, so the worker
 * can start the next batch (the next model call) meanwhile. It runs on the {@link
 * EncodingPipeline}'s workers, off the Kafka consumer thread, so it settles every tile itself —
 * published, dropped as expired, or given up — instead of throwing:
 *
 * <ul>
 *   <li>expired tiles are not encoded; their request gets one {@code deadline_exceeded} event;
 *   <li>tiles of requests their clients cancelled ({@code ferret.control}) are dropped silently;
 *   <li>a transient failure (server unavailable or overloaded, call deadline, a send that cannot be
 *       queued) retries the batch with exponential backoff ({@code retries} times), then gives
 *       every tile up with a retryable error event;
 *   <li>a send of features or notices that fails after the producer's own retries ({@code
 *       delivery.timeout.ms}) gets each request of the batch one retryable {@code
 *       stage_unavailable} error event;
 *   <li>a permanent inference failure of a multi-tile batch is narrowed down by encoding the tiles
 *       one by one, so that only the tile the model rejects is given up;
 *   <li>giving up = the shared recoverer: an error event to the waiting client and a copy on {@code
 *       <topic>.dlt}.
 * </ul>
 */
public final class TileEncoder {

  private static final Logger log = LoggerFactory.getLogger(TileEncoder.class);
  private static final LogAccessor LOG_ACCESSOR = new LogAccessor(TileEncoder.class);

  static final String VALUE_TYPE = "ferret.v1.TileFeatures";

  private final TritonClient triton;
  private final EncoderRole role;
  private final TileKind expectedKind;
  private final TopicCatalog catalog;
  private final DurablePublisher publisher;
  private final String service;
  private final String doneTiming;
  private final String storedTiming;
  private final Clock clock;
  private final ConsumerRecordRecoverer recoverer;
  private final int retries;
  private final Duration retryBackoff;
  private final MeterRegistry meters;
  private final DistributionSummary batchSize;
  private final Timer inferenceTimer;
  private final Counter expired;
  private final Counter cancelledTiles;
  private final java.util.function.Predicate<String> cancelled;
  private final Executor noticeSender;
  private final SharedFeatureStore sharedStore;
  private final FeatureCache cache;

  /**
   * @param triton the model adapter
   * @param role which tiles this instance encodes
   * @param kafka producer of features and error events
   * @param catalog topic names
   * @param sendTimeout how long to wait for the broker's acknowledgements
   * @param service this service's name, for headers and error events
   * @param clock time source for deadlines and stage timings
   * @param meters metrics registry
   * @param recoverer gives a tile up: error event to its client and a dead-letter copy
   * @param retries retries of a transient failure before giving the batch up
   * @param retryBackoff first retry delay; doubles per retry up to ten times this
   * @param cancelled whether a request id was cancelled by its client
   * @param noticeSender where the notices are queued for sending once their feature records are
   *     acknowledged (not the producer's own thread, which completes the acknowledgements: a send
   *     that waits for buffer space there would wait for itself)
   * @param sharedStore the host-local feature store the maps are written to (ADR 0011), or {@code
   *     null}: the maps are then published to {@code ferret.features}, as they are when it is full
   * @param cache the feature cache (ADR 0018), or {@code null}: the maps of a tile whose request
   *     carries a cache key for this encoder's model are stored there, named by the key, so that
   *     later questions about the image skip tiling and encoding
   */
  public TileEncoder(
      TritonClient triton,
      EncoderRole role,
      KafkaOperations<String, Object> kafka,
      TopicCatalog catalog,
      Duration sendTimeout,
      String service,
      Clock clock,
      MeterRegistry meters,
      ConsumerRecordRecoverer recoverer,
      int retries,
      Duration retryBackoff,
      java.util.function.Predicate<String> cancelled,
      Executor noticeSender,
      SharedFeatureStore sharedStore,
      FeatureCache cache) {
    this.triton = triton;
    this.cache = cache;
    this.sharedStore = sharedStore;
    this.noticeSender = noticeSender;
    this.cancelled = cancelled;
    this.role = role;
    this.expectedKind =
        role == EncoderRole.GLOBAL ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL;
    this.catalog = catalog;
    this.publisher = new DurablePublisher(kafka, sendTimeout);
    this.service = service;
    this.doneTiming = "encoder." + role.id() + ".done";
    this.storedTiming = "encoder." + role.id() + ".stored";
    this.clock = clock;
    this.recoverer = recoverer;
    this.retries = retries;
    this.retryBackoff = retryBackoff;
    this.meters = meters;
    this.batchSize =
        DistributionSummary.builder("ferret.encoder.batch.size")
            .description("Tiles per ModelInfer call")
            .tag("role", role.id())
            .publishPercentileHistogram()
            .serviceLevelObjectives(1, 2, 4, 8, 16, 32)
            .register(meters);
    this.inferenceTimer =
        Timer.builder("ferret.encoder.inference")
            .description("Duration of one ModelInfer call")
            .tag("role", role.id())
            .tag("model", triton.model().name())
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.expired =
        Counter.builder("ferret.encoder.expired")
            .description("Tiles dropped because their request's deadline had passed")
            .tag("role", role.id())
            .register(meters);
    this.cancelledTiles =
        Counter.builder("ferret.encoder.cancelled")
            .description("Tiles dropped because their request was cancelled")
            .tag("role", role.id())
            .register(meters);
  }

  public EncoderRole role() {
    return role;
  }

  /** Why a record cannot be encoded, or {@code null} if it can. */
  RuntimeException validate(ConsumerRecord<String, Tile> record) {
    Tile tile = record.value();
    if (tile == null) {
      DeserializationException undecodable =
          SerializationUtils.getExceptionFromHeader(
              record, KafkaUtils.VALUE_DESERIALIZER_EXCEPTION_HEADER, LOG_ACCESSOR);
      return undecodable != null
          ? undecodable
          : new PermanentFailure("invalid_tile", "the tile record has no value");
    }
    String problem = null;
    if (tile.getContext().getRequestId().isEmpty()) {
      problem = "the tile has no context.request_id";
    } else if (tile.getKind() != expectedKind) {
      problem = "a " + tile.getKind() + " tile reached the " + role.id() + " encoder";
    } else if (tile.getWidth() != triton.model().tileSize()
        || tile.getHeight() != triton.model().tileSize()) {
      problem =
          "the tile is "
              + tile.getWidth()
              + "x"
              + tile.getHeight()
              + ", the model takes "
              + triton.model().tileSize()
              + "x"
              + triton.model().tileSize();
    } else if (!tile.getRgbSharedFile().isEmpty()) {
      if (sharedStore == null) {
        problem =
            "the tile's pixels lie in a shared-memory store (file "
                + tile.getRgbSharedFile()
                + "), which this encoder does not read (ferret.features.shared-memory.enabled is"
                + " false)";
      } else if (!tile.getRgb().isEmpty()) {
        problem = "the tile carries its pixels and names a shared-memory file";
      }
    } else if (tile.getRgb().size() != triton.model().tileBytes()) {
      problem =
          "the tile has "
              + tile.getRgb().size()
              + " RGB bytes, expected "
              + triton.model().tileBytes();
    }
    return problem == null ? null : new PermanentFailure("invalid_tile", problem);
  }

  /**
   * What {@link #process} leaves: the records not settled (their give-up could not be sent, broker
   * down: try them again later) and the acknowledgements of the batch's outputs. The settled
   * records are done once {@code acks} completes, normally or not: a failed send has been answered
   * with error events by then.
   */
  public record Processed(
      List<ConsumerRecord<String, Tile>> unsettled, CompletableFuture<Void> acks) {}

  /**
   * Encodes valid records and queues their outputs for sending. Every record except those in {@link
   * Processed#unsettled} is settled once {@link Processed#acks} completes.
   */
  public Processed process(List<ConsumerRecord<String, Tile>> records) throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try {
        Attempt done = processOnce(records);
        List<ConsumerRecord<String, Tile>> unsettled = new ArrayList<>();
        for (Rejected r : done.rejected()) {
          if (!giveUp(r.record(), r.failure())) {
            unsettled.add(r.record());
          }
        }
        return new Processed(unsettled, done.acks());
      } catch (TransientFailure e) {
        countError(e);
        if (attempt >= retries) {
          log.warn(
              "giving up {} tiles after {} attempts: {}",
              records.size(),
              attempt + 1,
              e.getMessage());
          List<ConsumerRecord<String, Tile>> unsettled = new ArrayList<>();
          for (ConsumerRecord<String, Tile> record : records) {
            if (!giveUp(record, e)) {
              unsettled.add(record);
            }
          }
          return new Processed(unsettled, CompletableFuture.completedFuture(null));
        }
        long delay = FerretKafka.retryDelayMillis(retryBackoff, attempt);
        log.debug(
            "batch of {} tiles failed ({}); retry in {} ms", records.size(), e.getMessage(), delay);
        Thread.sleep(delay);
      }
    }
  }

  /**
   * Gives a record up: error event to its client and a dead-letter copy. Returns false when that
   * could not be sent, so the record must stay unsettled.
   */
  public boolean giveUp(ConsumerRecord<String, Tile> record, Exception failure) {
    try {
      recoverer.accept(record, failure);
      return true;
    } catch (RuntimeException e) {
      log.error(
          "could not dead-letter tile {}-{}@{}; will try again: {}",
          record.topic(),
          record.partition(),
          record.offset(),
          e.getMessage());
      return false;
    }
  }

  private record Rejected(ConsumerRecord<String, Tile> record, PermanentFailure failure) {}

  /**
   * One attempt's outcome: the tiles the model rejected and the acknowledgements of the outputs.
   */
  private record Attempt(List<Rejected> rejected, CompletableFuture<Void> acks) {}

  /** One attempt: queues what it can publish; returns the tiles the model rejected. */
  private Attempt processOnce(List<ConsumerRecord<String, Tile>> records) {
    if (records.isEmpty()) {
      return new Attempt(List.of(), CompletableFuture.completedFuture(null));
    }
    long now = clock.millis();
    List<ProducerRecord<String, Object>> out = new ArrayList<>();
    Map<String, RequestContext> expiredRequests = new LinkedHashMap<>();
    List<ConsumerRecord<String, Tile>> live = new ArrayList<>(records.size());
    for (ConsumerRecord<String, Tile> record : records) {
      RequestContext context = record.value().getContext();
      if (cancelled.test(context.getRequestId())) {
        cancelledTiles.increment(); // the client is gone: nothing to answer
      } else if (AnswerEvents.expired(context, now)) {
        expired.increment();
        expiredRequests.putIfAbsent(context.getRequestId(), context);
      } else {
        live.add(record);
      }
    }
    for (RequestContext context : expiredRequests.values()) {
      out.add(
          DurablePublisher.widen(
              AnswerEvents.record(
                  context,
                  catalog,
                  AnswerEvents.error(
                      context.getRequestId(),
                      service,
                      "deadline_exceeded",
                      "the request's deadline passed before its tiles were encoded",
                      false))));
    }
    List<Rejected> rejected = new ArrayList<>();
    Map<ConsumerRecord<String, Tile>, TensorBytes> pixels = new IdentityHashMap<>();
    List<ConsumerRecord<String, Tile>> readable = new ArrayList<>(live.size());
    for (ConsumerRecord<String, Tile> record : live) {
      try {
        pixels.put(record, pixels(record.value()));
        readable.add(record);
      } catch (PermanentFailure e) {
        countError(e);
        rejected.add(new Rejected(record, e));
      }
    }
    // batches whose features lie in shared-memory slots: returned once serialized by the sends
    List<EncodedBatch> held = new ArrayList<>(1);
    try {
      return new Attempt(rejected, encodeAndSend(readable, pixels, out, rejected, held));
    } finally {
      held.forEach(EncodedBatch::close);
    }
  }

  /**
   * A tile's pixels: those it carries, or the shared-memory file it names, mapped (ADR 0012).
   *
   * @throws PermanentFailure {@code tile_expired} when that file is gone, {@code invalid_tile} when
   *     it is not the tile's
   */
  private TensorBytes pixels(Tile tile) {
    if (tile.getRgbSharedFile().isEmpty()) {
      return TensorBytes.of(tile.getRgb());
    }
    // a view of the mapped file, copied once, into the model call
    return TensorBytes.of(
        sharedStore.readTile(tile.getContext().getRequestId(), tile, triton.model().tileBytes()));
  }

  private CompletableFuture<Void> encodeAndSend(
      List<ConsumerRecord<String, Tile>> live,
      Map<ConsumerRecord<String, Tile>, TensorBytes> pixels,
      List<ProducerRecord<String, Object>> out,
      List<Rejected> rejected,
      List<EncodedBatch> held) {
    if (!live.isEmpty()) {
      try {
        addFeatures(live, hold(encode(live, pixels), held), out);
      } catch (PermanentFailure e) {
        countError(e);
        if (live.size() == 1) {
          rejected.add(new Rejected(live.get(0), e));
        } else {
          log.warn(
              "{} rejected a batch of {} tiles ({}); encoding them one by one",
              triton.model().name(),
              live.size(),
              e.getMessage());
          for (ConsumerRecord<String, Tile> record : live) {
            try {
              addFeatures(List.of(record), hold(encode(List.of(record), pixels), held), out);
            } catch (PermanentFailure single) {
              countError(single);
              rejected.add(new Rejected(record, single));
            }
          }
        }
      }
    }
    // the producer serializes each record in send(): after it, no feature view is read again
    return send(out, live);
  }

  private static EncodedBatch hold(EncodedBatch batch, List<EncodedBatch> held) {
    if (batch.shared()) {
      held.add(batch);
    }
    return batch;
  }

  /**
   * Queues the outputs, then the notices of the feature records once the broker has acknowledged
   * those; the future completes when the broker acknowledged every output and notice or, after a
   * failed send, once every request of {@code live} was sent a retryable error event (not awaited:
   * the broker is likely gone, and the client's deadline still ends its wait).
   *
   * @throws TransientFailure when a record cannot even be queued (retried by {@link #process})
   */
  private CompletableFuture<Void> send(
      List<ProducerRecord<String, Object>> out, List<ConsumerRecord<String, Tile>> live) {
    List<CompletableFuture<?>> acks = new ArrayList<>(out.size() + 1);
    List<TileFeatures> features = new ArrayList<>(out.size());
    List<CompletableFuture<SendResult<String, Object>>> stored = new ArrayList<>(out.size());
    for (ProducerRecord<String, Object> record : out) {
      if (record.value() instanceof TileFeatures f && !FeatureRecords.isNotice(f)) {
        // serialized now: keep only what the notice needs (the maps may lie in a slot)
        stored.add(publisher.sendAsync(record));
        features.add(FeatureRecords.withoutMaps(f));
      } else {
        acks.add(publisher.sendAsync(record));
      }
    }
    if (!features.isEmpty()) {
      acks.add(
          CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new))
              .thenComposeAsync(ok -> sendNotices(features, stored), noticeSender));
    }
    return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
        .handle(
            (ok, failure) -> {
              if (failure != null) {
                failedSend(live, failure);
              }
              return null;
            });
  }

  /**
   * Queues the notice of each acknowledged feature record, its context stamped with when the record
   * was acknowledged ({@code encoder.<role>.stored}); completes when all are acknowledged.
   */
  private CompletableFuture<Void> sendNotices(
      List<TileFeatures> features, List<CompletableFuture<SendResult<String, Object>>> stored) {
    CompletableFuture<?>[] acks = new CompletableFuture<?>[features.size()];
    long now = clock.millis();
    for (int i = 0; i < acks.length; i++) {
      TileFeatures f = features.get(i);
      RecordMetadata at = stored.get(i).join().getRecordMetadata();
      acks[i] =
          publisher.sendAsync(
              notice(f, FeatureRecords.ref(f, at.topic(), at.partition(), at.offset()), now));
    }
    return CompletableFuture.allOf(acks);
  }

  /** The notice of {@code f}'s maps stored at {@code at}, stamped {@code encoder.<role>.stored}. */
  private ProducerRecord<String, Object> notice(TileFeatures f, FeatureRef at, long storedAt) {
    TileFeatures stamped =
        f.toBuilder()
            .setContext(f.getContext().toBuilder().putTimings(storedTiming, storedAt))
            .build();
    return record(catalog.featureNotices(), FeatureRecords.notice(stamped, at));
  }

  /** Outputs of a batch could not all be published: each request gets a retryable error. */
  private void failedSend(List<ConsumerRecord<String, Tile>> live, Throwable failure) {
    Map<String, RequestContext> requests = new LinkedHashMap<>();
    for (ConsumerRecord<String, Tile> record : live) {
      requests.putIfAbsent(record.value().getContext().getRequestId(), record.value().getContext());
    }
    log.warn(
        "could not publish the features of {} requests: {}", requests.size(), failure.toString());
    for (RequestContext context : requests.values()) {
      publisher.unavailableLater(
          context,
          catalog,
          service,
          "encoder-service could not publish the request's image features");
    }
  }

  /** Counts a failed call by its gRPC status (or the failure's code when it has no status). */
  private void countError(RuntimeException e) {
    String status = null;
    for (Throwable t = e; t != null && status == null; t = t.getCause()) {
      if (t instanceof io.grpc.StatusRuntimeException sre) {
        status = sre.getStatus().getCode().name();
      } else if (t instanceof io.grpc.StatusException se) {
        status = se.getStatus().getCode().name();
      }
    }
    if (status == null) {
      status = e instanceof PermanentFailure pf ? pf.code() : "transient";
    }
    Counter.builder("ferret.encoder.inference.errors")
        .description("Failed inference attempts, by gRPC status")
        .tag("role", role.id())
        .tag("status", status)
        .register(meters)
        .increment();
  }

  private EncodedBatch encode(
      List<ConsumerRecord<String, Tile>> records,
      Map<ConsumerRecord<String, Tile>, TensorBytes> pixels) {
    List<TensorBytes> tiles = new ArrayList<>(records.size());
    List<String> ids = new ArrayList<>(records.size());
    for (ConsumerRecord<String, Tile> record : records) {
      tiles.add(pixels.get(record));
      ids.add(record.value().getContext().getRequestId());
    }
    batchSize.record(records.size());
    return inferenceTimer.record(() -> triton.encodeTiles(tiles, ids));
  }

  private void addFeatures(
      List<ConsumerRecord<String, Tile>> records,
      EncodedBatch encoded,
      List<ProducerRecord<String, Object>> out) {
    long done = clock.millis();
    for (int i = 0; i < records.size(); i++) {
      Tile tile = records.get(i).value();
      RequestContext context = tile.getContext().toBuilder().putTimings(doneTiming, done).build();
      TileFeatures head =
          TileFeatures.newBuilder()
              .setContext(context)
              .setKind(tile.getKind())
              .setIndex(tile.getIndex())
              .setLocalCount(tile.getLocalCount())
              .setLayout(tile.getLayout())
              .setModel(triton.model().name())
              .setPatchRows(triton.model().patchGrid())
              .setPatchCols(triton.model().patchGrid())
              .setChannels(encoded.channels())
              .build();
      // in the shared-memory store (ADR 0011), written from the slot: the notice goes at once,
      // the maps cross no socket
      java.nio.ByteBuffer maps = encoded.map(i);
      FeatureRef file = cached(context, head, maps);
      if (file == null && sharedStore != null) {
        file = sharedStore.write(head, maps);
      }
      if (file != null) {
        TileFeatures written = head.toBuilder().setFeaturesBytes(maps.remaining()).build();
        out.add(notice(written, file, clock.millis()));
      } else {
        TileFeatures features = head.toBuilder().setFeaturesFp16(encoded.features().get(i)).build();
        out.add(record(catalog.features(), features));
      }
    }
  }

  /**
   * Stores the maps in the feature cache when the tile's request carries a key made for the model
   * this encoder serves (and was not itself a hit); returns where they lie, or {@code null}.
   */
  private FeatureRef cached(RequestContext context, TileFeatures head, java.nio.ByteBuffer maps) {
    if (cache == null || !context.hasFeatureCache() || context.getFeatureCache().getHit()) {
      return null;
    }
    FeatureCacheKey key = context.getFeatureCache();
    String keyModel = role == EncoderRole.GLOBAL ? key.getGlobalModel() : key.getLocalModel();
    if (!FeatureCache.serves(keyModel, triton.model().name(), triton.model().version())) {
      Counter.builder("ferret.feature.cache.writes")
          .description(
              "Feature maps offered to the feature cache, by outcome (all but stored were stored"
                  + " per request)")
          .tag("outcome", "other_model")
          .register(meters)
          .increment();
      return null;
    }
    return cache.store(key, head, maps);
  }

  private ProducerRecord<String, Object> record(String topic, TileFeatures features) {
    RequestContext context = features.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(topic, context.getRequestId(), features);
    FerretHeaders.stamp(record.headers(), context, VALUE_TYPE, service);
    return record;
  }
}

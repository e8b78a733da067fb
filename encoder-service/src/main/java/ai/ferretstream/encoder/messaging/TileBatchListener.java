package ai.ferretstream.encoder.messaging;

import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.EncodedBatch;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.kafka.spring.DurablePublisher;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.log.LogAccessor;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.listener.BatchListenerFailedException;
import org.springframework.kafka.listener.BatchMessageListener;
import org.springframework.kafka.support.KafkaUtils;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.SerializationUtils;

/**
 * Consumes a poll of tiles (of any number of requests), encodes all live ones in one {@code
 * ModelInfer} call and publishes one {@code TileFeatures} per tile to {@code ferret.features},
 * waiting for every send before returning.
 *
 * <p>Failure handling, for the shared {@code DefaultErrorHandler}:
 *
 * <ul>
 *   <li>expired tiles are not encoded; their request gets one {@code deadline_exceeded} event;
 *   <li>a record that is not a valid tile (undecodable, wrong kind or size) is processed as the
 *       boundary of the batch: the records before it are encoded and published, then a {@link
 *       BatchListenerFailedException} names it, so it alone is dead-lettered and its client told,
 *       and the records after it are redelivered;
 *   <li>a transient inference or broker failure fails the whole batch, which the handler retries;
 *   <li>a permanent inference failure of a multi-tile batch is narrowed down by encoding the tiles
 *       one by one, so that only the tile the model rejects is dead-lettered.
 * </ul>
 */
public final class TileBatchListener implements BatchMessageListener<String, Tile> {

  private static final Logger log = LoggerFactory.getLogger(TileBatchListener.class);
  private static final LogAccessor LOG_ACCESSOR = new LogAccessor(TileBatchListener.class);

  static final String VALUE_TYPE = "ferret.v1.TileFeatures";

  private final TritonClient triton;
  private final EncoderRole role;
  private final TileKind expectedKind;
  private final TopicCatalog catalog;
  private final DurablePublisher publisher;
  private final String service;
  private final String doneTiming;
  private final Clock clock;
  private final DistributionSummary batchSize;
  private final Timer inferenceTimer;
  private final Counter expired;

  /**
   * @param triton the model adapter
   * @param role which tiles this instance encodes
   * @param kafka producer of features and error events
   * @param catalog topic names
   * @param sendTimeout how long to wait for the broker's acknowledgements
   * @param service this service's name, for headers and error events
   * @param clock time source for deadlines and stage timings
   * @param meters metrics registry
   */
  public TileBatchListener(
      TritonClient triton,
      EncoderRole role,
      KafkaOperations<String, Object> kafka,
      TopicCatalog catalog,
      Duration sendTimeout,
      String service,
      Clock clock,
      MeterRegistry meters) {
    this.triton = triton;
    this.role = role;
    this.expectedKind =
        role == EncoderRole.GLOBAL ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL;
    this.catalog = catalog;
    this.publisher = new DurablePublisher(kafka, sendTimeout);
    this.service = service;
    this.doneTiming = "encoder." + role.id() + ".done";
    this.clock = clock;
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
  }

  @Override
  public void onMessage(List<ConsumerRecord<String, Tile>> records) {
    int end = records.size();
    RuntimeException problem = null;
    for (int i = 0; i < records.size(); i++) {
      problem = validate(records.get(i));
      if (problem != null) {
        end = i;
        break;
      }
    }
    process(records.subList(0, end));
    if (problem != null) {
      throw new BatchListenerFailedException(problem.getMessage(), problem, end);
    }
  }

  /** Why a record cannot be encoded, or {@code null} if it can. */
  private RuntimeException validate(ConsumerRecord<String, Tile> record) {
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
    } else if (tile.getRgb().size() != triton.model().tileBytes()) {
      problem =
          "the tile has "
              + tile.getRgb().size()
              + " RGB bytes, expected "
              + triton.model().tileBytes();
    }
    return problem == null ? null : new PermanentFailure("invalid_tile", problem);
  }

  /** Encodes and publishes valid records; all of them are done when this returns. */
  private void process(List<ConsumerRecord<String, Tile>> records) {
    if (records.isEmpty()) {
      return;
    }
    long now = clock.millis();
    List<ProducerRecord<String, Object>> out = new ArrayList<>();
    Map<String, RequestContext> expiredRequests = new LinkedHashMap<>();
    List<ConsumerRecord<String, Tile>> live = new ArrayList<>(records.size());
    for (ConsumerRecord<String, Tile> record : records) {
      RequestContext context = record.value().getContext();
      if (AnswerEvents.expired(context, now)) {
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
    if (!live.isEmpty()) {
      try {
        addFeatures(live, encode(live), out);
      } catch (PermanentFailure e) {
        if (live.size() == 1) {
          publisher.sendAll(out);
          throw new BatchListenerFailedException(e.getMessage(), e, live.get(0));
        }
        log.warn(
            "{} rejected a batch of {} tiles ({}); encoding them one by one",
            triton.model().name(),
            live.size(),
            e.getMessage());
        encodeOneByOne(live, out);
      }
    }
    publisher.sendAll(out);
  }

  private void encodeOneByOne(
      List<ConsumerRecord<String, Tile>> live, List<ProducerRecord<String, Object>> out) {
    for (ConsumerRecord<String, Tile> record : live) {
      EncodedBatch encoded;
      try {
        encoded = encode(List.of(record));
      } catch (PermanentFailure e) {
        publisher.sendAll(out); // everything before this record is done
        throw new BatchListenerFailedException(e.getMessage(), e, record);
      }
      addFeatures(List.of(record), encoded, out);
    }
  }

  private EncodedBatch encode(List<ConsumerRecord<String, Tile>> records) {
    List<ByteString> pixels = new ArrayList<>(records.size());
    List<String> ids = new ArrayList<>(records.size());
    for (ConsumerRecord<String, Tile> record : records) {
      pixels.add(record.value().getRgb());
      ids.add(record.value().getContext().getRequestId());
    }
    batchSize.record(records.size());
    return inferenceTimer.record(() -> triton.encode(pixels, ids));
  }

  private void addFeatures(
      List<ConsumerRecord<String, Tile>> records,
      EncodedBatch encoded,
      List<ProducerRecord<String, Object>> out) {
    long done = clock.millis();
    for (int i = 0; i < records.size(); i++) {
      Tile tile = records.get(i).value();
      RequestContext context = tile.getContext().toBuilder().putTimings(doneTiming, done).build();
      TileFeatures features =
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
              .setFeaturesFp16(encoded.features().get(i))
              .build();
      out.add(record(features));
    }
  }

  private ProducerRecord<String, Object> record(TileFeatures features) {
    RequestContext context = features.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(catalog.features(), context.getRequestId(), features);
    FerretHeaders.put(record.headers(), FerretHeaders.REQUEST_ID, context.getRequestId());
    FerretHeaders.put(record.headers(), FerretHeaders.VALUE_TYPE, VALUE_TYPE);
    FerretHeaders.put(record.headers(), FerretHeaders.PRODUCER, service);
    if (context.getDeadlineUnixMs() > 0) {
      FerretHeaders.put(
          record.headers(), FerretHeaders.DEADLINE, Long.toString(context.getDeadlineUnixMs()));
    }
    Integer replyPartition = AnswerEvents.replyPartition(context);
    if (replyPartition != null) {
      FerretHeaders.put(record.headers(), FerretHeaders.REPLY_PARTITION, replyPartition.toString());
    }
    return record;
  }
}

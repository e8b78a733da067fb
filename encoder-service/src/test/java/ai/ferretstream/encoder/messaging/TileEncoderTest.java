package ai.ferretstream.encoder.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.ModelSpec;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.FakeEncoderModel;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.SerializationUtils;

class TileEncoderTest {

  private static final long NOW = 1_700_000_000_000L;
  private static final int CHANNELS = 3;

  private final FakeEncoderModel fake = new FakeEncoderModel(CHANNELS);
  private final TopicCatalog catalog = new TopicCatalog("t.");
  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @SuppressWarnings("unchecked")
  private final KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);

  private Server server;
  private ManagedChannel channel;
  private TileEncoder encoder;
  private TritonClient triton;
  private final List<ConsumerRecord<String, Tile>> givenUp = new ArrayList<>();
  private final List<Exception> givenUpBecause = new ArrayList<>();
  private volatile boolean deadLetterBrokerDown;
  private final java.util.Set<String> cancelled =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private long offset;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(fake.definition())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    triton =
        new TritonClient(
            channel,
            new ModelSpec(FakeEncoderModel.MODEL, "", "pixels", "features", 336, 24),
            Duration.ofSeconds(5));
    encoder = encoder(null);
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              ProducerRecord<String, Object> record = call.getArgument(0);
              sent.add(record);
              return CompletableFuture.completedFuture(sendResult(record, sent.size() - 1));
            });
  }

  private TileEncoder encoder(SharedFeatureStore sharedStore) {
    return encoder(sharedStore, null);
  }

  private TileEncoder encoder(SharedFeatureStore sharedStore, FeatureCache cache) {
    return new TileEncoder(
        triton,
        EncoderRole.LOCAL,
        kafka,
        catalog,
        Duration.ofSeconds(1),
        "encoder-service",
        Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC),
        meters,
        (record, e) -> {
          if (deadLetterBrokerDown) {
            throw new IllegalStateException("dead-letter topic unavailable");
          }
          @SuppressWarnings("unchecked")
          ConsumerRecord<String, Tile> tile = (ConsumerRecord<String, Tile>) record;
          givenUp.add(tile);
          givenUpBecause.add(e);
        },
        2,
        Duration.ofMillis(1),
        cancelled::contains,
        Runnable::run,
        sharedStore,
        cache);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  /** The broker's acknowledgement: the record stored at {@code offset} of partition 0. */
  private static SendResult<String, Object> sendResult(
      ProducerRecord<String, Object> record, long offset) {
    return new SendResult<>(
        record, new RecordMetadata(new TopicPartition(record.topic(), 0), offset, 0, NOW, 1, 1));
  }

  private ConsumerRecord<String, Tile> tile(String id, int index, int red, long deadline) {
    return record(
        id,
        Tile.newBuilder()
            .setContext(
                RequestContext.newBuilder()
                    .setRequestId(id)
                    .setDeadlineUnixMs(deadline)
                    .putTimings("tiler.done", NOW - 3))
            .setKind(TileKind.TILE_KIND_LOCAL)
            .setIndex(index)
            .setLocalCount(4)
            .setLayout(GridLayout.newBuilder().setCols(2).setRows(2).setTileSize(336))
            .setWidth(336)
            .setHeight(336)
            .setRgb(FakeEncoderModel.solidTile(red))
            .build());
  }

  private ConsumerRecord<String, Tile> record(String key, Tile value) {
    return new ConsumerRecord<>("t.ferret.tiles.local", 0, offset++, key, value);
  }

  private List<TileFeatures> sentFeatures() {
    return sentTo("t.ferret.features").stream().map(r -> (TileFeatures) r.value()).toList();
  }

  private List<ProducerRecord<String, Object>> sentTo(String topic) {
    return sent.stream().filter(r -> r.topic().equals(topic)).toList();
  }

  private static float firstFeature(TileFeatures features, int channel) {
    return TensorCodec.fp16ToFloats(features.getFeaturesFp16().toByteArray())[channel];
  }

  @Test
  void encodesTilesOfSeveralRequestsInOneCallAndRoutesTheirFeatures() throws Exception {
    assertThat(
            encoder
                .process(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0), tile("a", 1, 30, 0)))
                .unsettled())
        .isEmpty();

    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(3);
    assertThat(sentTo("t.ferret.features"))
        .extracting(ProducerRecord::key)
        .containsExactly("a", "b", "a");
    List<TileFeatures> features = sentFeatures();
    assertThat(features)
        .extracting(f -> f.getContext().getRequestId())
        .containsExactly("a", "b", "a");
    assertThat(features).extracting(TileFeatures::getIndex).containsExactly(0, 0, 1);
    assertThat(firstFeature(features.get(0), 0)).isEqualTo(10f);
    assertThat(firstFeature(features.get(1), 2)).isEqualTo(22f);
    assertThat(firstFeature(features.get(2), 1)).isEqualTo(31f);
    TileFeatures first = features.get(0);
    assertThat(first.getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(first.getModel()).isEqualTo(FakeEncoderModel.MODEL);
    assertThat(first.getPatchRows()).isEqualTo(24);
    assertThat(first.getPatchCols()).isEqualTo(24);
    assertThat(first.getChannels()).isEqualTo(CHANNELS);
    assertThat(first.getLocalCount()).isEqualTo(4);
    assertThat(first.getLayout().getCols()).isEqualTo(2);
    assertThat(first.getFeaturesFp16().size()).isEqualTo(576 * CHANNELS * 2);
    assertThat(first.getContext().getTimingsMap())
        .containsEntry("tiler.done", NOW - 3)
        .containsEntry("encoder.local.done", NOW);
    assertThat(meters.get("ferret.encoder.batch.size").summary().max()).isEqualTo(3.0);
  }

  @Test
  void returnsBeforeTheBrokerAcknowledgesAndAnswersAFailedSendWithErrorEvents() throws Exception {
    CompletableFuture<SendResult<String, Object>> ack = new CompletableFuture<>();
    org.mockito.Mockito.doAnswer(
            call -> {
              ProducerRecord<String, Object> record = call.getArgument(0);
              sent.add(record);
              return record.topic().equals("t.ferret.features")
                  ? ack
                  : CompletableFuture.completedFuture(sendResult(record, 0));
            })
        .when(kafka)
        .send(ArgumentMatchers.<ProducerRecord<String, Object>>any());

    TileEncoder.Processed processed =
        encoder.process(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0), tile("a", 1, 30, 0)));

    // queued, not yet acknowledged: the worker is free for its next batch
    assertThat(processed.unsettled()).isEmpty();
    assertThat(processed.acks()).isNotDone();
    assertThat(sentFeatures()).hasSize(3);
    ack.completeExceptionally(new org.apache.kafka.common.errors.TimeoutException("broker gone"));
    assertThat(processed.acks()).isDone();
    assertThat(processed.acks()).isNotCompletedExceptionally();
    List<AnswerEvent> errors =
        sent.stream()
            .filter(r -> r.topic().equals("t.ferret.answers"))
            .map(r -> (AnswerEvent) r.value())
            .toList();
    assertThat(errors).extracting(AnswerEvent::getRequestId).containsExactly("a", "b");
    assertThat(errors).allMatch(e -> e.getError().getCode().equals("stage_unavailable"));
    assertThat(errors).allMatch(e -> e.getError().getRetryable());
  }

  @Test
  void publishesANoticeNamingEachFeatureRecordOnlyOnceTheBrokerHasIt() throws Exception {
    List<CompletableFuture<SendResult<String, Object>>> featureAcks = new ArrayList<>();
    List<CompletableFuture<SendResult<String, Object>>> noticeAcks = new ArrayList<>();
    org.mockito.Mockito.doAnswer(
            call -> {
              ProducerRecord<String, Object> record = call.getArgument(0);
              sent.add(record);
              CompletableFuture<SendResult<String, Object>> ack = new CompletableFuture<>();
              (record.topic().equals("t.ferret.features") ? featureAcks : noticeAcks).add(ack);
              return ack;
            })
        .when(kafka)
        .send(ArgumentMatchers.<ProducerRecord<String, Object>>any());

    TileEncoder.Processed processed =
        encoder.process(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0)));

    // no notice before the broker has the record it names
    assertThat(sentTo("t.ferret.feature-notices")).isEmpty();
    List<TileFeatures> features = sentFeatures();
    featureAcks
        .get(0)
        .complete(
            new SendResult<>(
                sentTo("t.ferret.features").get(0),
                new RecordMetadata(new TopicPartition("t.ferret.features", 2), 40, 0, NOW, 1, 1)));
    assertThat(sentTo("t.ferret.feature-notices")).isEmpty();
    featureAcks
        .get(1)
        .complete(
            new SendResult<>(
                sentTo("t.ferret.features").get(1),
                new RecordMetadata(new TopicPartition("t.ferret.features", 3), 7, 0, NOW, 1, 1)));

    List<ProducerRecord<String, Object>> notices = sentTo("t.ferret.feature-notices");
    assertThat(notices).extracting(ProducerRecord::key).containsExactly("a", "b");
    TileFeatures first = (TileFeatures) notices.get(0).value();
    assertThat(first.getFeaturesFp16().isEmpty()).isTrue();
    assertThat(first.getFeaturesBytes()).isEqualTo(576 * CHANNELS * 2);
    assertThat(first.getStoredAt().getTopic()).isEqualTo("t.ferret.features");
    assertThat(first.getStoredAt().getPartition()).isEqualTo(2);
    assertThat(first.getStoredAt().getOffset()).isEqualTo(40);
    assertThat(first.getStoredAt().getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(first.getContext().getTimingsMap()).containsEntry("encoder.local.stored", NOW);
    assertThat(
            first.toBuilder()
                .clearStoredAt()
                .clearFeaturesBytes()
                .setContext(first.getContext().toBuilder().removeTimings("encoder.local.stored"))
                .build())
        .isEqualTo(features.get(0).toBuilder().clearFeaturesFp16().build());
    assertThat(((TileFeatures) notices.get(1).value()).getStoredAt().getOffset()).isEqualTo(7);
    // the tiles are settled only once the notices are durable
    assertThat(processed.acks()).isNotDone();
    noticeAcks.forEach(a -> a.complete(null));
    assertThat(processed.acks()).isCompleted();
    assertThat(sentTo("t.ferret.answers")).isEmpty();
  }

  @Test
  void writesTheMapsToTheSharedStoreAndPublishesOnlyNoticesNamingTheFiles(@TempDir Path dir)
      throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1 << 20, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    encoder = encoder(store);

    TileEncoder.Processed processed =
        encoder.process(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0)));

    assertThat(processed.unsettled()).isEmpty();
    assertThat(processed.acks()).isCompleted();
    // no multi-MB record through Kafka: the notices go at once and name the files
    assertThat(sentTo("t.ferret.features")).isEmpty();
    List<ProducerRecord<String, Object>> notices = sentTo("t.ferret.feature-notices");
    assertThat(notices).extracting(ProducerRecord::key).containsExactly("a", "b");
    TileFeatures first = (TileFeatures) notices.get(0).value();
    assertThat(first.getFeaturesFp16().isEmpty()).isTrue();
    assertThat(first.getFeaturesBytes()).isEqualTo(576 * CHANNELS * 2);
    assertThat(first.getStoredAt().getSharedFile()).startsWith("tf-");
    assertThat(first.getStoredAt().getTopic()).isEmpty();
    assertThat(first.getContext().getTimingsMap()).containsEntry("encoder.local.stored", NOW);
    TileFeatures stored = store.read("a", first.getStoredAt());
    assertThat(firstFeature(stored, 0)).isEqualTo(10f);
    assertThat(stored.getFeaturesFp16().size()).isEqualTo(576 * CHANNELS * 2);
    TileFeatures second = (TileFeatures) notices.get(1).value();
    assertThat(firstFeature(store.read("b", second.getStoredAt()), 2)).isEqualTo(22f);
    assertThat(
            meters.get("ferret.features.shared.writes").tag("outcome", "stored").counter().count())
        .isEqualTo(2.0);
  }

  @Test
  void storesTheMapsOfAKeyedTileInTheFeatureCacheOnlyForTheModelTheKeyWasMadeFor(@TempDir Path dir)
      throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1 << 22, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    FeatureCache cache =
        new FeatureCache(
            store,
            1 << 22,
            Duration.ofMinutes(30),
            Duration.ofMinutes(5),
            Clock.systemUTC(),
            meters);
    encoder = encoder(store, cache);
    FeatureCacheKey key =
        FeatureCacheKey.newBuilder()
            .setDigest("ab".repeat(32))
            .setGlobalModel("clip_vision")
            .setLocalModel(FakeEncoderModel.MODEL)
            .build();

    encoder.process(
        List.of(
            keyed(tile("mine", 1, 10, 0), key),
            keyed(tile("other-model", 0, 20, 0), key.toBuilder().setLocalModel("other@2").build()),
            keyed(tile("a-hit", 0, 30, 0), key.toBuilder().setHit(true).build())));

    List<TileFeatures> notices =
        sentTo("t.ferret.feature-notices").stream().map(r -> (TileFeatures) r.value()).toList();
    assertThat(notices).hasSize(3);
    assertThat(notices.get(0).getStoredAt().getSharedFile())
        .isEqualTo(FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 1));
    // the cached record is the image's, not the request's: any later request may read it
    TileFeatures cached = store.read("a-later-request", notices.get(0).getStoredAt());
    assertThat(firstFeature(cached, 0)).isEqualTo(10f);
    assertThat(cached.getContext().getRequestId()).isEmpty();
    assertThat(cached.getContext().getFeatureCache().getDigest()).isEqualTo(key.getDigest());
    assertThat(notices.get(1).getStoredAt().getSharedFile()).startsWith("tf-");
    assertThat(notices.get(2).getStoredAt().getSharedFile()).startsWith("tf-");
    assertThat(meters.get("ferret.feature.cache.writes").tag("outcome", "stored").counter().count())
        .isEqualTo(1.0);
    assertThat(
            meters
                .get("ferret.feature.cache.writes")
                .tag("outcome", "other_model")
                .counter()
                .count())
        .isEqualTo(1.0);
  }

  private static ConsumerRecord<String, Tile> keyed(
      ConsumerRecord<String, Tile> record, FeatureCacheKey key) {
    Tile tile = record.value();
    return new ConsumerRecord<>(
        record.topic(),
        record.partition(),
        record.offset(),
        record.key(),
        tile.toBuilder().setContext(tile.getContext().toBuilder().setFeatureCache(key)).build());
  }

  @Test
  void publishesTheMapsToKafkaWhenTheSharedStoreIsFull(@TempDir Path dir) throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1_000, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    encoder = encoder(store);

    encoder.process(List.of(tile("a", 0, 10, 0)));

    assertThat(sentFeatures()).hasSize(1);
    TileFeatures notice = (TileFeatures) sentTo("t.ferret.feature-notices").get(0).value();
    assertThat(notice.getStoredAt().getTopic()).isEqualTo("t.ferret.features");
    assertThat(notice.getStoredAt().getSharedFile()).isEmpty();
    assertThat(meters.get("ferret.features.shared.writes").tag("outcome", "full").counter().count())
        .isEqualTo(1.0);
  }

  /** {@code tile} with its pixels moved to {@code store}, as the tiler writes them (ADR 0012). */
  private ConsumerRecord<String, Tile> inStore(
      ConsumerRecord<String, Tile> tile, SharedFeatureStore store) {
    Tile value = tile.value();
    String file =
        store.writeTile(
            value.getContext().getRequestId(),
            value.getKind(),
            value.getIndex(),
            value.getRgb().asReadOnlyByteBuffer());
    assertThat(file).isNotNull();
    return record(tile.key(), value.toBuilder().clearRgb().setRgbSharedFile(file).build());
  }

  @Test
  void encodesTilesWhosePixelsLieInTheSharedStore(@TempDir Path dir) throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1 << 22, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    ConsumerRecord<String, Tile> a = inStore(tile("a", 0, 10, 0), store);
    ConsumerRecord<String, Tile> b = tile("b", 0, 20, 0);
    encoder = encoder(store);
    assertThat(encoder.validate(a)).isNull();

    // one tile from a file, one by value, in one batch
    assertThat(encoder.process(List.of(a, b)).unsettled()).isEmpty();

    assertThat(fake.calls()).hasSize(1);
    assertThat(givenUp).isEmpty();
    List<TileFeatures> notices =
        sentTo("t.ferret.feature-notices").stream().map(r -> (TileFeatures) r.value()).toList();
    assertThat(notices).extracting(f -> f.getContext().getRequestId()).containsExactly("a", "b");
    assertThat(firstFeature(store.read("a", notices.get(0).getStoredAt()), 0)).isEqualTo(10f);
    assertThat(firstFeature(store.read("b", notices.get(1).getStoredAt()), 2)).isEqualTo(22f);
  }

  @Test
  void givesUpATileWhoseFileIsGoneAndEncodesTheRest(@TempDir Path dir) throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1 << 22, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    ConsumerRecord<String, Tile> gone = inStore(tile("gone", 0, 10, 0), store);
    ConsumerRecord<String, Tile> kept = inStore(tile("kept", 0, 20, 0), store);
    store.releaseTiles("gone", 4);
    encoder = encoder(store);

    assertThat(encoder.process(List.of(gone, kept)).unsettled()).isEmpty();

    assertThat(givenUp).containsExactly(gone);
    assertThat(givenUpBecause.get(0))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("tile_expired"));
    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(1);
    assertThat(sentTo("t.ferret.feature-notices"))
        .extracting(ProducerRecord::key)
        .containsExactly("kept");
  }

  @Test
  void refusesATileThatNamesAnotherRequestsFileOrNeedsAStoreItHasNot(@TempDir Path dir)
      throws Exception {
    SharedFeatureStore store =
        new SharedFeatureStore(dir, 1 << 22, Duration.ofMinutes(1), Clock.systemUTC(), meters);
    ConsumerRecord<String, Tile> other = inStore(tile("other", 0, 10, 0), store);
    Tile stolen =
        tile("thief", 0, 1, 0).value().toBuilder()
            .clearRgb()
            .setRgbSharedFile(other.value().getRgbSharedFile())
            .build();

    // without a store: refused at once
    assertThat(encoder.validate(record("thief", stolen))).hasMessageContaining("does not read");
    // with one: the name is not the file of that request's tile, so the tile is given up
    encoder = encoder(store);
    ConsumerRecord<String, Tile> thief = record("thief", stolen);
    assertThat(encoder.validate(thief)).isNull();
    assertThat(encoder.process(List.of(thief)).unsettled()).isEmpty();
    assertThat(givenUp).containsExactly(thief);
    assertThat(givenUpBecause.get(0))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_tile"));
    assertThat(fake.calls()).isEmpty();
  }

  @Test
  void answersAFailedNoticeWithErrorEvents() throws Exception {
    org.mockito.Mockito.doAnswer(
            call -> {
              ProducerRecord<String, Object> record = call.getArgument(0);
              sent.add(record);
              return record.topic().equals("t.ferret.feature-notices")
                  ? CompletableFuture.failedFuture(
                      new org.apache.kafka.common.errors.TimeoutException("broker gone"))
                  : CompletableFuture.completedFuture(sendResult(record, 0));
            })
        .when(kafka)
        .send(ArgumentMatchers.<ProducerRecord<String, Object>>any());

    TileEncoder.Processed processed = encoder.process(List.of(tile("a", 0, 10, 0)));

    assertThat(processed.acks()).isCompleted();
    assertThat(sentTo("t.ferret.answers"))
        .extracting(r -> ((AnswerEvent) r.value()).getError().getCode())
        .containsExactly("stage_unavailable");
  }

  @Test
  void dropsExpiredTilesWithOneErrorEventPerRequest() throws Exception {
    encoder.process(
        List.of(
            tile("late", 0, 10, NOW - 1), tile("ok", 0, 20, NOW + 1000), tile("late", 1, 30, NOW)));

    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(1);
    List<AnswerEvent> errors =
        sent.stream()
            .filter(r -> r.topic().equals("t.ferret.answers"))
            .map(r -> (AnswerEvent) r.value())
            .toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).getRequestId()).isEqualTo("late");
    assertThat(errors.get(0).getError().getCode()).isEqualTo("deadline_exceeded");
    assertThat(sentFeatures()).extracting(f -> f.getContext().getRequestId()).containsExactly("ok");
  }

  @Test
  void namesWhatIsWrongWithAnInvalidTile() {
    Tile wrongSize =
        tile("bad", 0, 1, 0).value().toBuilder().setRgb(ByteString.copyFrom(new byte[9])).build();

    RuntimeException problem = encoder.validate(record("bad", wrongSize));

    assertThat(problem).isInstanceOf(PermanentFailure.class).hasMessageContaining("RGB bytes");
    assertThat(((PermanentFailure) problem).code()).isEqualTo("invalid_tile");
    assertThat(encoder.validate(tile("good", 0, 1, 0))).isNull();
  }

  @Test
  void refusesATileOfTheOtherRole() {
    Tile global = tile("g", 0, 1, 0).value().toBuilder().setKind(TileKind.TILE_KIND_GLOBAL).build();

    assertThat(encoder.validate(record("g", global))).hasMessageContaining("local encoder");
  }

  @Test
  void namesAnUndecodableRecord() {
    RecordHeaders headers = new RecordHeaders();
    SerializationUtils.deserializationException(
        headers, new byte[] {1, 2}, new IllegalStateException("garbage"), false);
    ConsumerRecord<String, Tile> undecodable =
        new ConsumerRecord<>(
            "t.ferret.tiles.local",
            0,
            offset++,
            NOW,
            TimestampType.CREATE_TIME,
            2,
            2,
            "x",
            null,
            headers,
            java.util.Optional.empty());

    assertThat(encoder.validate(undecodable)).isInstanceOf(DeserializationException.class);
  }

  @Test
  void narrowsARejectedBatchDownToTheTileTheModelRejects() throws Exception {
    fake.rejectTilesWithRed(66);
    ConsumerRecord<String, Tile> poison = tile("poison", 0, 66, 0);

    assertThat(
            encoder.process(List.of(tile("a", 0, 10, 0), poison, tile("b", 0, 20, 0))).unsettled())
        .isEmpty();

    // the batch call, then each tile alone
    assertThat(fake.calls()).hasSize(4);
    assertThat(sentFeatures())
        .extracting(f -> f.getContext().getRequestId())
        .containsExactly("a", "b");
    assertThat(givenUp).containsExactly(poison);
    assertThat(((PermanentFailure) givenUpBecause.get(0)).code()).isEqualTo("inference_rejected");
    assertThat(
            meters
                .get("ferret.encoder.inference.errors")
                .tag("status", "INVALID_ARGUMENT")
                .counter()
                .count())
        .isEqualTo(2.0);
  }

  @Test
  void retriesATransientFailureThenSucceeds() throws Exception {
    fake.failNext(Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED);

    assertThat(encoder.process(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0))).unsettled())
        .isEmpty();

    assertThat(fake.calls()).hasSize(3);
    assertThat(sentFeatures()).hasSize(2);
    assertThat(givenUp).isEmpty();
  }

  @Test
  void givesEveryTileUpWhenTheServerStaysUnavailable() throws Exception {
    fake.failNext(Status.UNAVAILABLE, Status.UNAVAILABLE, Status.UNAVAILABLE);
    List<ConsumerRecord<String, Tile>> tiles = List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0));

    assertThat(encoder.process(tiles).unsettled()).isEmpty();

    assertThat(fake.calls()).hasSize(3); // first try + 2 retries
    assertThat(sent).isEmpty();
    assertThat(givenUp).containsExactlyElementsOf(tiles);
    assertThat(givenUpBecause).allMatch(e -> e instanceof TransientFailure);
  }

  @Test
  void keepsTilesUnsettledWhenTheyCannotBeGivenUp() throws Exception {
    fake.failNext(Status.INVALID_ARGUMENT);
    deadLetterBrokerDown = true;
    ConsumerRecord<String, Tile> tile = tile("a", 0, 10, 0);

    assertThat(encoder.process(List.of(tile)).unsettled()).containsExactly(tile);
  }

  @Test
  void dropsTheTilesOfCancelledRequestsWithoutAnswering() throws Exception {
    cancelled.add("gone");

    assertThat(encoder.process(List.of(tile("gone", 0, 10, 0), tile("here", 0, 20, 0))).unsettled())
        .isEmpty();

    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(1);
    assertThat(sentTo("t.ferret.features")).extracting(ProducerRecord::key).containsExactly("here");
    assertThat(meters.get("ferret.encoder.cancelled").counter().count()).isEqualTo(1.0);
  }
}

package ai.ferretstream.tiler.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

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
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.ReplyTargets;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.TestImages;
import ai.ferretstream.tiler.domain.Grid;
import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;

class AskRequestListenerTest {

  private static final long NOW = 1_700_000_000_000L;

  private final TopicCatalog catalog = new TopicCatalog("t.");
  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @SuppressWarnings("unchecked")
  private final KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);

  private final OffsetTracker offsets = new OffsetTracker();
  private final SourcePartition requests = new SourcePartition("t.ferret.requests", 0);

  @SuppressWarnings("unchecked")
  private final Consumer<String, Object> consumer = mock(Consumer.class);

  @TempDir Path storeDirectory;

  private final CancelledRequests cancelled = CancelledRequests.remembering();

  @Test
  void refusesAReplyToOfAnotherTopicOrAMissingPartitionBeforeAnything() {
    brokerAcknowledges();
    byte[] png = TestImages.png(TestImages.redAndBlue(64, 64));
    AskRequestListener listener = listener();
    for (ReplyTo bad :
        List.of(
            ReplyTo.newBuilder().setTopic("t.ferret.fused").build(),
            ReplyTo.newBuilder().setPartition(4).build())) {
      // even an expired one: nothing may be answered where it says
      RequestContext context = context("bad", NOW - 1).toBuilder().setReplyTo(bad).build();
      assertThatThrownBy(() -> listener.onMessage(record(context, png), consumer))
          .isInstanceOf(PermanentFailure.class)
          .satisfies(
              e ->
                  assertThat(((PermanentFailure) e).code())
                      .isEqualTo(ReplyTargets.INVALID_REPLY_TO));
    }
    assertThat(sent).isEmpty();
  }

  @Test
  void passesOverARequestCancelledBeforeItCame() {
    brokerAcknowledges();
    byte[] png = TestImages.png(TestImages.redAndBlue(64, 64));
    cancelled.cancel("gone");

    listener().onMessage(record(context("gone", NOW + 60_000), png), consumer);
    listener().onMessage(record(context("kept", NOW + 60_000), png), consumer);

    assertThat(sent).isNotEmpty().allMatch(r -> r.key().equals("kept"));
    assertThat(meters.get("ferret.tiler.cancelled").counter().count()).isEqualTo(1.0);
  }

  private AskRequestListener listener() {
    return listener(null);
  }

  private AskRequestListener listener(SharedFeatureStore store) {
    return listener(store, null);
  }

  private AskRequestListener listener(SharedFeatureStore store, FeatureCache cache) {
    DurablePublisher publisher = new DurablePublisher(kafka, Duration.ofSeconds(1));
    return new AskRequestListener(
        new ImageDecoder(1_000_000, 10_000_000),
        new ImageTiler(
            new GridSelector(
                List.of(Grid.parse("1x1"), Grid.parse("2x1"), Grid.parse("2x2")), 336)),
        publisher,
        new AcknowledgedSends(publisher, offsets, 4, Duration.ofSeconds(1)),
        offsets,
        new OffsetCommitter(offsets),
        catalog,
        "tiler-service",
        Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC),
        meters,
        store,
        new AnswerPartitions(catalog, topic -> 4, Duration.ofSeconds(10), System::nanoTime),
        cancelled,
        cache,
        cache == null ? null : KEYS);
  }

  private void brokerAcknowledges() {
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              sent.add(call.getArgument(0));
              return CompletableFuture.completedFuture(sendResult());
            });
  }

  @SuppressWarnings("unchecked")
  private static SendResult<String, Object> sendResult() {
    return mock(SendResult.class);
  }

  private static ConsumerRecord<String, AskRequest> record(RequestContext context, byte[] image) {
    AskRequest request =
        AskRequest.newBuilder()
            .setContext(context)
            .setImage(ByteString.copyFrom(image))
            .setImageMediaType("image/png")
            .build();
    return new ConsumerRecord<>("t.ferret.requests", 0, 0, context.getRequestId(), request);
  }

  private static RequestContext context(String id, long deadline) {
    return RequestContext.newBuilder()
        .setRequestId(id)
        .setDeadlineUnixMs(deadline)
        .setReplyTo(ReplyTo.newBuilder().setPartition(2))
        .putTimings("gateway.accepted", NOW - 5)
        .build();
  }

  @Test
  void publishesTheGlobalViewAndEveryLocalTileOfAWideImage() {
    brokerAcknowledges();
    byte[] png = TestImages.png(TestImages.redAndBlue(700, 330));

    listener().onMessage(record(context("r1", NOW + 60_000), png), consumer);

    assertThat(sent).hasSize(3);
    assertThat(sent.get(0).topic()).isEqualTo("t.ferret.tiles.global");
    assertThat(sent.subList(1, 3)).allMatch(r -> r.topic().equals("t.ferret.tiles.local"));
    assertThat(sent).allMatch(r -> r.key().equals("r1"));
    Tile global = (Tile) sent.get(0).value();
    Tile right = (Tile) sent.get(2).value();
    assertThat(global.getKind()).isEqualTo(TileKind.TILE_KIND_GLOBAL);
    assertThat(global.getLocalCount()).isEqualTo(2);
    assertThat(right.getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(right.getIndex()).isEqualTo(1);
    assertThat(right.getLayout().getCols()).isEqualTo(2);
    assertThat(right.getLayout().getRows()).isEqualTo(1);
    assertThat(right.getImageRect().getX0()).isEqualTo(350);
    assertThat(right.getRgb().size()).isEqualTo(336 * 336 * 3);
    assertThat(right.getContext().getTimingsMap())
        .containsEntry("gateway.accepted", NOW - 5)
        .containsEntry("tiler.received", NOW)
        .containsEntry("tiler.done", NOW);
    assertThat(FerretHeaders.get(sent.get(1).headers(), FerretHeaders.REQUEST_ID)).isEqualTo("r1");
    assertThat(FerretHeaders.get(sent.get(1).headers(), FerretHeaders.REPLY_PARTITION))
        .isEqualTo("2");
    assertThat(meters.get("ferret.tiler.tiles").tag("kind", "local").counter().count())
        .isEqualTo(2.0);
  }

  @Test
  void writesTheTilesPixelsToTheSharedMemoryStoreAndPublishesTilesThatNameTheFiles()
      throws Exception {
    brokerAcknowledges();
    SharedFeatureStore store =
        new SharedFeatureStore(
            storeDirectory, 1 << 24, Duration.ofMinutes(10), Clock.systemUTC(), meters);
    byte[] png = TestImages.png(TestImages.redAndBlue(700, 330));
    listener(null).onMessage(record(context("by-value", NOW + 60_000), png), consumer);
    List<Tile> byValue = sent.stream().map(r -> (Tile) r.value()).toList();
    sent.clear();

    listener(store).onMessage(record(context("r1", NOW + 60_000), png), consumer);

    assertThat(sent).hasSize(3);
    for (int i = 0; i < 3; i++) {
      Tile tile = (Tile) sent.get(i).value();
      assertThat(tile.getRgb().isEmpty()).isTrue();
      assertThat(tile.getRgbSharedFile())
          .isEqualTo(SharedFeatureStore.tileFileName("r1", tile.getKind(), tile.getIndex()));
      // the file holds exactly the pixels the record would have carried
      assertThat(Files.readAllBytes(storeDirectory.resolve(tile.getRgbSharedFile())))
          .isEqualTo(byValue.get(i).getRgb().toByteArray());
      ByteBuffer read = store.readTile("r1", tile, 336 * 336 * 3);
      assertThat(ByteString.copyFrom(read)).isEqualTo(byValue.get(i).getRgb());
    }
    assertThat(meters.get("ferret.tiles.shared.writes").tag("outcome", "stored").counter().count())
        .isEqualTo(3.0);

    store.releaseTiles("r1", 2);
    try (Stream<Path> left = Files.list(storeDirectory)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aTileTheStoreCannotTakeCarriesItsPixels() {
    brokerAcknowledges();
    // room for one tile's pixels, not for three
    SharedFeatureStore store =
        new SharedFeatureStore(
            storeDirectory, 336 * 336 * 3 + 10, Duration.ofMinutes(10), Clock.systemUTC(), meters);
    byte[] png = TestImages.png(TestImages.redAndBlue(700, 330));

    listener(store).onMessage(record(context("r1", NOW + 60_000), png), consumer);

    List<Tile> tiles = sent.stream().map(r -> (Tile) r.value()).toList();
    assertThat(tiles.get(0).getRgbSharedFile()).isNotEmpty();
    assertThat(tiles.subList(1, 3))
        .allSatisfy(
            t -> {
              assertThat(t.getRgbSharedFile()).isEmpty();
              assertThat(t.getRgb().size()).isEqualTo(336 * 336 * 3);
            });
    assertThat(meters.get("ferret.tiles.shared.writes").tag("outcome", "full").counter().count())
        .isEqualTo(2.0);
  }

  @Test
  void answersDeadlineExceededInsteadOfTilingAnExpiredRequest() {
    brokerAcknowledges();

    listener().onMessage(record(context("late", NOW - 1), new byte[] {1, 2, 3}), consumer);

    assertThat(sent).hasSize(1);
    ProducerRecord<String, Object> answer = sent.get(0);
    assertThat(answer.topic()).isEqualTo("t.ferret.answers");
    assertThat(answer.partition()).isEqualTo(2);
    AnswerEvent event = (AnswerEvent) answer.value();
    assertThat(event.getRequestId()).isEqualTo("late");
    assertThat(event.getError().getCode()).isEqualTo("deadline_exceeded");
    assertThat(event.getError().getStage()).isEqualTo("tiler-service");
  }

  @Test
  void failsPermanentlyOnAnUndecodableImageWithoutPublishingTiles() {
    brokerAcknowledges();

    assertThatThrownBy(
            () -> listener().onMessage(record(context("bad", 0), new byte[] {1, 2, 3}), consumer))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_image"));
    verify(kafka, never()).send(ArgumentMatchers.<ProducerRecord<String, Object>>any());
  }

  @Test
  void holdsTheRequestsOffsetUntilTheBrokerAcknowledgedEveryTile() {
    CompletableFuture<SendResult<String, Object>> ack = new CompletableFuture<>();
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              sent.add(call.getArgument(0));
              return ack;
            });
    byte[] png = TestImages.png(TestImages.redAndBlue(100, 100));

    listener().onMessage(record(context("r3", 0), png), consumer);

    // the listener returned without waiting; the offset may not be committed yet
    assertThat(sent).hasSize(2);
    assertThat(offsets.held(requests)).isEqualTo(1);
    assertThat(offsets.committable(requests)).isZero();
    ack.complete(sendResult());
    assertThat(offsets.held(requests)).isZero();
    assertThat(offsets.committable(requests)).isEqualTo(1);
  }

  @Test
  void tellsTheClientWhenTheBrokerNeverAcknowledgesTheTiles() throws Exception {
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              ProducerRecord<String, Object> r = call.getArgument(0);
              sent.add(r);
              return r.topic().equals("t.ferret.answers")
                  ? CompletableFuture.completedFuture(sendResult())
                  : CompletableFuture.failedFuture(new IllegalStateException("broker down"));
            });
    byte[] png = TestImages.png(TestImages.redAndBlue(100, 100));
    SharedFeatureStore store =
        new SharedFeatureStore(
            storeDirectory, 1 << 24, Duration.ofMinutes(10), Clock.systemUTC(), meters);

    listener(store).onMessage(record(context("r2", 0), png), consumer);

    ProducerRecord<String, Object> last = sent.get(sent.size() - 1);
    assertThat(last.topic()).isEqualTo("t.ferret.answers");
    AnswerEvent event = (AnswerEvent) last.value();
    assertThat(event.getError().getCode()).isEqualTo("stage_unavailable");
    assertThat(event.getError().getRetryable()).isTrue();
    assertThat(offsets.held(requests)).isZero();
    // the tiles were written to the store, and removed again: nobody will read them
    assertThat(((Tile) sent.get(0).value()).getRgbSharedFile()).isNotEmpty();
    try (Stream<Path> left = Files.list(storeDirectory)) {
      assertThat(left).isEmpty();
    }
  }

  private static final FeatureCacheKeys KEYS =
      new FeatureCacheKeys(
          336, List.of("1x1", "2x1", "2x2"), "stretch", "scalar", "clip_vision", "dinov2_vision");

  @Test
  void anImageWhoseFeaturesAreCachedIsNeitherTiledNorEncodedAgain() throws Exception {
    brokerAcknowledges();
    SharedFeatureStore store =
        new SharedFeatureStore(
            storeDirectory, 1 << 24, Duration.ofMinutes(10), Clock.systemUTC(), meters);
    FeatureCache cache =
        new FeatureCache(
            store,
            1 << 24,
            Duration.ofMinutes(30),
            Duration.ofMinutes(5),
            Clock.systemUTC(),
            meters);
    byte[] png = TestImages.png(TestImages.redAndBlue(700, 330));
    AskRequestListener listener = listener(store, cache);

    // first question: tiled, the tiles carry the key the encoders store the features under
    listener.onMessage(record(context("first", NOW + 60_000), png), consumer);
    List<Tile> tiles = sent.stream().map(r -> (Tile) r.value()).toList();
    assertThat(tiles).hasSize(3);
    FeatureCacheKey key = KEYS.of(ByteString.copyFrom(png));
    assertThat(tiles).allSatisfy(t -> assertThat(t.getContext().getFeatureCache()).isEqualTo(key));
    assertThat(meters.get("ferret.feature.cache.lookups").tag("outcome", "miss").counter().count())
        .isEqualTo(1.0);
    long resized = meters.get("ferret.tiler.resize").timer().count();
    // what the encoders do for it: store each tile's features under the key (the last one later)
    for (Tile tile : tiles.subList(0, 2)) {
      assertThat(cache.store(key, features(tile), ByteBuffer.allocate(576 * 8 * 2))).isNotNull();
    }
    sent.clear();

    // an entry without all its pieces is a miss: the request is tiled again
    listener.onMessage(record(context("early", NOW + 60_000), png), consumer);
    assertThat(sent).hasSize(3).allMatch(r -> r.value() instanceof Tile);
    assertThat(cache.store(key, features(tiles.get(2)), ByteBuffer.allocate(576 * 8 * 2)))
        .isNotNull();
    sent.clear();

    listener.onMessage(
        record(
            context("follow-up", NOW + 60_000).toBuilder().setPrompt("And the blue one?").build(),
            png),
        consumer);

    assertThat(sent).hasSize(3).allMatch(r -> r.topic().equals("t.ferret.feature-notices"));
    assertThat(sent).allMatch(r -> r.key().equals("follow-up"));
    List<TileFeatures> notices = sent.stream().map(r -> (TileFeatures) r.value()).toList();
    TileFeatures global = notices.get(0);
    assertThat(global.getKind()).isEqualTo(TileKind.TILE_KIND_GLOBAL);
    assertThat(global.getContext().getPrompt()).isEqualTo("And the blue one?");
    assertThat(global.getContext().getFeatureCache().getHit()).isTrue();
    assertThat(global.getContext().getTimingsMap())
        .containsKey("tiler.feature_cache_hit")
        .doesNotContainKey("tiler.done");
    assertThat(global.getStoredAt().getSharedFile())
        .isEqualTo(FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_GLOBAL, 0));
    assertThat(global.getFeaturesBytes()).isEqualTo(576 * 8 * 2);
    assertThat(global.getLayout()).isEqualTo(tiles.get(0).getLayout());
    TileFeatures right = notices.get(2);
    assertThat(right.getIndex()).isEqualTo(1);
    assertThat(right.getContext().getRequestId()).isEqualTo("follow-up");
    assertThat(right.getContext().getPrompt()).isEmpty(); // routing part only
    // fusion and the llm read the cached maps as the follow-up's
    assertThat(store.readMaps("follow-up", right.getStoredAt()).maps().size())
        .isEqualTo(576 * 8 * 2);
    assertThat(meters.get("ferret.tiler.resize").timer().count()).isEqualTo(resized + 1);
    assertThat(meters.get("ferret.feature.cache.lookups").tag("outcome", "hit").counter().count())
        .isEqualTo(1.0);
    assertThat(FerretHeaders.get(sent.get(0).headers(), FerretHeaders.REQUEST_ID))
        .isEqualTo("follow-up");

    // other bytes, another key: tiled
    sent.clear();
    byte[] other = TestImages.png(TestImages.redAndBlue(701, 330));
    listener.onMessage(record(context("other", NOW + 60_000), other), consumer);
    assertThat(sent).hasSize(3).allMatch(r -> r.value() instanceof Tile);
  }

  private static TileFeatures features(Tile tile) {
    return TileFeatures.newBuilder()
        .setContext(tile.getContext())
        .setKind(tile.getKind())
        .setIndex(tile.getIndex())
        .setLocalCount(tile.getLocalCount())
        .setLayout(tile.getLayout())
        .setModel(tile.getKind() == TileKind.TILE_KIND_GLOBAL ? "clip_vision" : "dinov2_vision")
        .setPatchRows(24)
        .setPatchCols(24)
        .setChannels(8)
        .build();
  }

  @Test
  void rejectsARequestWithoutAnId() {
    assertThatThrownBy(() -> listener().onMessage(record(context("", 0), new byte[] {1}), consumer))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_request"));
  }
}

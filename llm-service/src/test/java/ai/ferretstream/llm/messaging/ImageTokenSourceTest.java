package ai.ferretstream.llm.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.features.FeatureReader;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checks of a fused context's references that need no broker (they fail before any read), and
 * tokens read from the shared-memory feature store.
 */
class ImageTokenSourceTest {

  @TempDir Path directory;

  // no broker: a Kafka read would time out, so a test that passes read nothing from Kafka
  private final RecordFetcher fetcher =
      new RecordFetcher(
          Map.of("bootstrap.servers", "127.0.0.1:1"), "test", 1, Duration.ofSeconds(1), "features");
  private SharedFeatureStore store;
  private ImageTokenSource source;

  @BeforeEach
  void open() {
    store =
        new SharedFeatureStore(
            directory,
            1 << 20,
            Duration.ofMinutes(1),
            Clock.systemUTC(),
            new SimpleMeterRegistry());
    source =
        new ImageTokenSource(
            new FeatureReader(fetcher, store),
            Timer.builder("t").register(new SimpleMeterRegistry()));
  }

  @AfterEach
  void close() {
    fetcher.close();
  }

  private static FeatureRef ref(TileKind kind, int index, long offset) {
    return FeatureRef.newBuilder()
        .setKind(kind)
        .setIndex(index)
        .setTopic("ferret.features")
        .setPartition(0)
        .setOffset(offset)
        .build();
  }

  private static FusedContext.Builder fused() {
    return FusedContext.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId("r"))
        .setLayout(GridLayout.newBuilder().setCols(2).setRows(1))
        .setChannels(4)
        .setLocalTokenRows(24)
        .setLocalTokenCols(48);
  }

  @Test
  void tokensByValueAreTheContextsOwn() throws Exception {
    ByteString tokens = ByteString.copyFrom(new byte[] {1, 2, 3});
    assertThat(source.of(fused().setImageTokensFp16(tokens).build()).toByteString())
        .isSameAs(tokens);
  }

  @Test
  void referencesOutOfTokenOrderAreRefusedBeforeAnyRead() {
    FusedContext swapped =
        fused()
            .addFeatureRefs(ref(TileKind.TILE_KIND_GLOBAL, 0, 1))
            .addFeatureRefs(ref(TileKind.TILE_KIND_LOCAL, 1, 3))
            .addFeatureRefs(ref(TileKind.TILE_KIND_LOCAL, 0, 2))
            .build();
    assertThatThrownBy(() -> source.of(swapped))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("feature_refs[1] names TILE_KIND_LOCAL 1 at ferret.features-0@3");
  }

  /** A map of 576 tokens x 4 channels whose bytes all differ from the other maps'. */
  private static TileFeatures map(TileKind kind, int index, int seed) {
    byte[] bytes = new byte[576 * 4 * 2];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (seed * 31 + i * 7);
    }
    return TileFeatures.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId("r"))
        .setKind(kind)
        .setIndex(index)
        .setChannels(4)
        .setPatchRows(24)
        .setPatchCols(24)
        .setFeaturesFp16(ByteString.copyFrom(bytes))
        .build();
  }

  @Test
  void tokensFromTheSharedStoreAreLaidOutAndTheirFilesRemovedOnRelease() throws Exception {
    TileFeatures global = map(TileKind.TILE_KIND_GLOBAL, 0, 1);
    TileFeatures left = map(TileKind.TILE_KIND_LOCAL, 0, 2);
    TileFeatures right = map(TileKind.TILE_KIND_LOCAL, 1, 3);
    FusedContext named =
        fused()
            .addFeatureRefs(store.write(global))
            .addFeatureRefs(store.write(left))
            .addFeatureRefs(store.write(right))
            .build();

    TensorBytes read = source.of(named);
    // written where the llm writes them: a shared-memory window (native memory)
    java.nio.ByteBuffer window = java.nio.ByteBuffer.allocateDirect(read.size());
    read.copyTo(window);
    ByteString tokens = ByteString.copyFrom(window.flip());

    ByteString expected =
        ByteString.copyFrom(
            ImageTokens.of(
                global.getFeaturesFp16(),
                List.of(left.getFeaturesFp16(), right.getFeaturesFp16()),
                1,
                2,
                24,
                24,
                4));
    assertThat(tokens.size()).isEqualTo(3 * 576 * 4 * 2);
    assertThat(tokens).isEqualTo(expected);
    // the request's tiles, written by the tiler (ADR 0012), and another request's tile
    for (int k = 0; k < 2; k++) {
      store.writeTile("r", TileKind.TILE_KIND_LOCAL, k, java.nio.ByteBuffer.wrap(new byte[] {1}));
    }
    store.writeTile("r", TileKind.TILE_KIND_GLOBAL, 0, java.nio.ByteBuffer.wrap(new byte[] {1}));
    String otherTile =
        store.writeTile(
            "other", TileKind.TILE_KIND_GLOBAL, 0, java.nio.ByteBuffer.wrap(new byte[] {1}));
    try (var files = Files.list(directory)) {
      assertThat(files).hasSize(7);
    }
    source.release(named);
    try (var files = Files.list(directory)) {
      assertThat(files).containsExactly(directory.resolve(otherTile));
    }
    store.releaseTiles("other", 0);
    try (var files = Files.list(directory)) {
      assertThat(files).isEmpty();
    }
    // read again after the release (a redelivery): gone, and said so
    assertThatThrownBy(() -> source.of(named))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("features_expired"));
  }

  @Test
  void aSharedFileOfAnotherRequestIsRefused() {
    TileFeatures other =
        map(TileKind.TILE_KIND_GLOBAL, 0, 1).toBuilder()
            .setContext(RequestContext.newBuilder().setRequestId("other"))
            .build();
    FeatureRef global = store.write(other);
    FusedContext named =
        fused()
            .addFeatureRefs(global)
            .addFeatureRefs(store.write(map(TileKind.TILE_KIND_LOCAL, 0, 2)))
            .addFeatureRefs(store.write(map(TileKind.TILE_KIND_LOCAL, 1, 3)))
            .build();
    assertThatThrownBy(() -> source.of(named))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("of request other, expected TILE_KIND_GLOBAL 0 of r");
  }

  @Test
  void referencesThatDoNotFitTheGridAreRefused() {
    FusedContext tooFew = fused().addFeatureRefs(ref(TileKind.TILE_KIND_GLOBAL, 0, 1)).build();
    assertThatThrownBy(() -> source.of(tooFew))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("1 feature records named for a 2x1 grid");
  }
}

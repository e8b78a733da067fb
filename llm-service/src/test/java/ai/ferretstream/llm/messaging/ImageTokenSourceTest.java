package ai.ferretstream.llm.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The checks of a fused context's references that need no broker: they fail before any read. */
class ImageTokenSourceTest {

  // no broker: a read would time out, so a test that passes read nothing
  private final RecordFetcher fetcher =
      new RecordFetcher(
          Map.of("bootstrap.servers", "127.0.0.1:1"), "test", 1, Duration.ofSeconds(1), "features");
  private final ImageTokenSource source =
      new ImageTokenSource(fetcher, Timer.builder("t").register(new SimpleMeterRegistry()));

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
    assertThat(source.of(fused().setImageTokensFp16(tokens).build())).isSameAs(tokens);
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

  @Test
  void referencesThatDoNotFitTheGridAreRefused() {
    FusedContext tooFew = fused().addFeatureRefs(ref(TileKind.TILE_KIND_GLOBAL, 0, 1)).build();
    assertThatThrownBy(() -> source.of(tooFew))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("1 feature records named for a 2x1 grid");
  }
}

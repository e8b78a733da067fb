package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.Turn;
import com.google.protobuf.ByteString;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FusionTest {

  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(5_000), ZoneOffset.UTC);
  private static final GridLayout GRID = TestFeatures.layout(3, 2, 900, 600);
  private static final int P = 4;
  private static final int C = 2;

  private final List<RegionSampler.FeatureMap> maps = new ArrayList<>();
  private final List<float[]> pointSets = new ArrayList<>();
  private final List<Integer> fpsStarts = new ArrayList<>();

  private final RegionSampler sampler =
      (context, map, points, fpsStart) -> {
        maps.add(map);
        pointSets.add(points);
        fpsStarts.add(fpsStart);
        float[] e = {pointSets.size(), 0.5f, -1f};
        return new RegionSampler.Embedding(3, ByteString.copyFrom(TensorCodec.floatsToFp16(e)));
      };

  private FeatureJoin completeJoin(RequestContext context) {
    return completeJoin(context, GRID);
  }

  private FeatureJoin completeJoin(RequestContext context, GridLayout layout) {
    OffsetTracker tracker = new OffsetTracker();
    JoinBook book = new JoinBook(4, 60_000, 10, 60_000, tracker);
    SourcePartition p = new SourcePartition("f", 0);
    book.offer(TestFeatures.global(context, layout, P, C), p, 0, 0);
    JoinBook.Offer last = null;
    for (int k = 5; k >= 0; k--) {
      last = book.offer(TestFeatures.local(context, layout, k, P, C), p, 6 - k, 0);
    }
    assertThat(last.status()).isEqualTo(JoinBook.Status.READY);
    return last.join();
  }

  @Test
  void fusedContextCarriesGlobalThenMergedLocalTokens() throws Exception {
    FusedContext fused =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK)
            .fuse(completeJoin(TestFeatures.context("a", 0)));
    assertThat(fused.getGlobalTokens()).isEqualTo(P * P);
    assertThat(fused.getLocalTokenRows()).isEqualTo(2 * P);
    assertThat(fused.getLocalTokenCols()).isEqualTo(3 * P);
    assertThat(fused.getChannels()).isEqualTo(C);
    assertThat(fused.getLayout()).isEqualTo(GRID);
    float[] tokens = TensorCodec.fp16ToFloats(fused.getImageTokensFp16().toByteArray());
    assertThat(tokens).hasSize((P * P + 6 * P * P) * C);
    assertThat(tokens[0]).isEqualTo(TestFeatures.globalValue(0, 0, 0));
    // merged row 5, column 9: tile row 1, tile column 2 -> tile 5, patch (1, 1)
    int at = P * P * C + (5 * 3 * P + 9) * C + 1;
    assertThat(tokens[at]).isEqualTo(TestFeatures.localValue(5, 1, 1, 1));
    assertThat(fused.getRegionCount()).isZero();
    assertThat(fused.getRegionEmbeddingsFp16().isEmpty()).isTrue();
    assertThat(fused.getContext().getTimingsMap()).containsEntry(Fusion.TIMING_DONE, 5_000L);
    assertThat(maps).as("no regions: the sampler is not called").isEmpty();
  }

  @Test
  void everyRegionGetsOneEmbeddingInRegionOrder() throws Exception {
    RequestContext context =
        TestFeatures.context("b", 0).toBuilder()
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(100).setY1(50).setX2(199).setY2(149)))
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                    .setPoint(Point.newBuilder().setX(500).setY(500)))
            .build();
    FusedContext fused =
        new Fusion(UpsampleMode.BILINEAR, sampler, CLOCK).fuse(completeJoin(context));
    assertThat(fused.getRegionCount()).isEqualTo(2);
    assertThat(fused.getRegionChannels()).isEqualTo(3);
    assertThat(TensorCodec.fp16ToFloats(fused.getRegionEmbeddingsFp16().toByteArray()))
        .containsExactly(1f, 0.5f, -1f, 2f, 0.5f, -1f);
    RegionSampler.FeatureMap map = maps.get(0);
    assertThat(map.height()).isEqualTo(2 * P);
    assertThat(map.width()).isEqualTo(3 * P);
    assertThat(map.channels()).isEqualTo(C);
    byte[] tokens = fused.getImageTokensFp16().toByteArray();
    assertThat(map.fp16().toByteArray())
        .isEqualTo(
            FeatureMaps.fusedMapFp16(
                tokens, 0, P, P, P * P * C * 2, 2 * P, 3 * P, C, UpsampleMode.BILINEAR));
    float[] box = pointSets.get(0);
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(box[2 * i] * 900).isBetween(99.9f, 199.1f);
      assertThat(box[2 * i + 1] * 600).isBetween(49.9f, 149.1f);
    }
    float[] point = pointSets.get(1); // (500, 500) of 999 -> pixel (450, 300), 11x11 window
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(point[2 * i] * 900).isBetween(444.9f, 455.1f);
      assertThat(point[2 * i + 1] * 600).isBetween(294.9f, 305.1f);
    }
    // each region's FPS start index comes from its own seed
    assertThat(fpsStarts)
        .containsExactly(
            PointSampler.fpsStart(PointSampler.seed(context.getRequestId(), 0)),
            PointSampler.fpsStart(PointSampler.seed(context.getRequestId(), 1)));
  }

  @Test
  void aPaddedCanvasGetsTheGlobalMapOnItsContentOnly() throws Exception {
    // 900x300 padded onto the 3x2 canvas (1008x672): the image fills y 168..504, i.e. local rows
    // 2..6 of 8 (a cell is 336 / 4 = 84 canvas pixels)
    GridLayout padded =
        GRID.toBuilder()
            .setImageHeight(300)
            .setMode(ai.ferretstream.proto.v1.ResizeMode.RESIZE_MODE_PAD)
            .setContentX(0)
            .setContentY(168)
            .setContentWidth(1008)
            .setContentHeight(336)
            .build();
    RequestContext context =
        TestFeatures.context("pad", 0).toBuilder()
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(0).setY1(0).setX2(899).setY2(299)))
            .build();

    FusedContext fused =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK).fuse(completeJoin(context, padded));

    byte[] tokens = fused.getImageTokensFp16().toByteArray();
    float[] map = TensorCodec.fp16ToFloats(maps.get(0).fp16().toByteArray());
    float[] local = TensorCodec.fp16ToFloats(tokens);
    int globalFloats = P * P * C;
    int w = 3 * P;
    for (int y = 0; y < 2 * P; y++) {
      for (int x = 0; x < w; x++) {
        int at = (y * w + x) * C;
        float expected = local[globalFloats + at];
        if (y >= 2 && y < 6) {
          // content row y reads global row (y - 2) of 4; 12 columns over 4: x / 3
          expected += TestFeatures.globalValue(y - 2, x / 3, 0);
        }
        assertThat(map[at]).as("H_a row %d column %d", y, x).isEqualTo(expected);
      }
    }
  }

  /** A join of notices naming the test features as records 100.. of "f" partition 1. */
  private FeatureJoin noticeJoin(RequestContext context, List<TileFeatures> stored) {
    return noticeJoin(context, stored, (f, i) -> FeatureRecords.ref(f, "f", 1, 100 + i));
  }

  /**
   * A join of notices naming the test features (the i-th, in token order, where {@code at} says).
   */
  private FeatureJoin noticeJoin(
      RequestContext context,
      List<TileFeatures> stored,
      java.util.function.BiFunction<TileFeatures, Integer, FeatureRef> at) {
    JoinBook book = new JoinBook(4, 60_000, 10, 60_000, new OffsetTracker());
    SourcePartition p = new SourcePartition("n", 0);
    stored.add(TestFeatures.global(context, GRID, P, C));
    for (int k = 0; k < 6; k++) {
      stored.add(TestFeatures.local(context, GRID, k, P, C));
    }
    JoinBook.Offer last = null;
    for (int i = 0; i < stored.size(); i++) {
      TileFeatures f = stored.get(i);
      last = book.offer(FeatureRecords.notice(f, at.apply(f, i)), p, i, 0);
    }
    assertThat(last.status()).isEqualTo(JoinBook.Status.READY);
    return last.join();
  }

  /** A store over {@code stored}, recording every read. */
  private FeatureStore store(List<TileFeatures> stored, List<List<FeatureRef>> reads) {
    return (requestId, refs) -> {
      reads.add(refs);
      List<TileFeatures> out = new ArrayList<>();
      for (FeatureRef r : refs) {
        out.add(stored.get((int) r.getOffset() - 100));
      }
      return out;
    };
  }

  @Test
  void aRequestWithoutRegionsIsFusedFromItsNoticesAlone() throws Exception {
    List<TileFeatures> stored = new ArrayList<>();
    List<List<FeatureRef>> reads = new ArrayList<>();
    FeatureJoin join = noticeJoin(TestFeatures.context("n", 0), stored);

    FusedContext fused =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK, true, store(stored, reads)).fuse(join);

    assertThat(reads).isEmpty();
    assertThat(fused.getImageTokensFp16().isEmpty()).isTrue();
    assertThat(fused.getFeatureRefsList())
        .extracting(FeatureRef::getOffset)
        .containsExactly(100L, 101L, 102L, 103L, 104L, 105L, 106L);
    assertThat(fused.getFeatureRefs(3).getTopic()).isEqualTo("f");
    assertThat(fused.getFeatureRefs(3).getIndex()).isEqualTo(2);
    assertThat(fused.getGlobalTokens()).isEqualTo(P * P);
    assertThat(fused.getLocalTokenRows()).isEqualTo(2 * P);
  }

  @Test
  void noticesNamingSharedMemoryFilesAreFusedAndTheFilesNamedOn() throws Exception {
    List<TileFeatures> pieces = new ArrayList<>();
    FeatureJoin join =
        noticeJoin(
            TestFeatures.context("s", 0), pieces, (f, i) -> FeatureRecords.sharedRef(f, "tf-" + i));

    FusedContext fused =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK, true, store(pieces, new ArrayList<>()))
            .fuse(join);

    assertThat(fused.getFeatureRefsList())
        .extracting(FeatureRef::getSharedFile)
        .containsExactly("tf-0", "tf-1", "tf-2", "tf-3", "tf-4", "tf-5", "tf-6");
    assertThat(fused.getFeatureRefs(3).getIndex()).isEqualTo(2);
  }

  @Test
  void aNoticeNamingBothAFileAndARecordIsRefused() {
    JoinBook book = new JoinBook(4, 60_000, 10, 60_000, new OffsetTracker());
    TileFeatures f = TestFeatures.global(TestFeatures.context("b", 0), GRID, P, C);
    FeatureRef both = FeatureRecords.ref(f, "f", 1, 100).toBuilder().setSharedFile("tf-0").build();

    assertThatThrownBy(
            () -> book.offer(FeatureRecords.notice(f, both), new SourcePartition("n", 0), 0, 0))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("at shared-memory:tf-0");
  }

  /** A request with one pixel box. */
  private static RequestContext withOneBox(String requestId) {
    return TestFeatures.context(requestId, 0).toBuilder()
        .addRegions(
            Region.newBuilder()
                .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                .setBox(Box.newBuilder().setX1(100).setY1(50).setX2(200).setY2(150)))
        .build();
  }

  @Test
  void regionsReadTheNamedMapsOnceAndSampleWhatTheyHold() throws Exception {
    RequestContext context = withOneBox("r");
    List<TileFeatures> stored = new ArrayList<>();
    List<List<FeatureRef>> reads = new ArrayList<>();
    FusedContext byNotices =
        new Fusion(UpsampleMode.BILINEAR, sampler, CLOCK, true, store(stored, reads))
            .fuse(noticeJoin(context, stored));
    FusedContext byValue =
        new Fusion(UpsampleMode.BILINEAR, sampler, CLOCK).fuse(completeJoin(context));

    assertThat(reads).hasSize(1);
    assertThat(reads.get(0)).hasSize(7);
    assertThat(maps).hasSize(2);
    assertThat(maps.get(0).fp16()).isEqualTo(maps.get(1).fp16());
    assertThat(byNotices.getRegionCount()).isEqualTo(1);
    assertThat(byNotices.getFeatureRefsCount()).isEqualTo(7);
    assertThat(byValue.getFeatureRefsCount()).isZero();
  }

  @Test
  void aNamedRecordThatDoesNotMatchItsNoticeIsInvalid() throws Exception {
    RequestContext context = withOneBox("m");
    List<TileFeatures> stored = new ArrayList<>();
    FeatureJoin join = noticeJoin(context, stored);
    stored.set(2, TestFeatures.local(context, GRID, 1, P, C + 1));
    Fusion fusion =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK, true, store(stored, new ArrayList<>()));

    assertThatThrownBy(() -> fusion.fuse(join))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("f-1@102 does not match its notice");
    assertThat(maps).isEmpty();
  }

  @Test
  void earlierTurnsRegionsAreEmbeddedFirstOldestTurnFirst() throws Exception {
    RequestContext context =
        TestFeatures.context("h", 0).toBuilder()
            .addHistory(
                Turn.newBuilder()
                    .setUser("What is [100, 100, 200, 200] <region_fea>?")
                    .setAssistant("It is red.")
                    .addRegions(
                        Region.newBuilder()
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                            .setBox(Box.newBuilder().setX1(100).setY1(100).setX2(200).setY2(200))))
            .addHistory(Turn.newBuilder().setUser("And its shape?").setAssistant("Square."))
            .addHistory(
                Turn.newBuilder()
                    .setUser("And <region_fea>?")
                    .setAssistant("It is blue.")
                    .addRegions(
                        Region.newBuilder()
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                            .setPoint(Point.newBuilder().setX(450).setY(300))))
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(800).setY1(500).setX2(899).setY2(599)))
            .build();

    FusedContext fused =
        new Fusion(UpsampleMode.NEAREST, sampler, CLOCK).fuse(completeJoin(context));

    assertThat(fused.getRegionCount()).isEqualTo(3);
    assertThat(TensorCodec.fp16ToFloats(fused.getRegionEmbeddingsFp16().toByteArray()))
        .containsExactly(1f, 0.5f, -1f, 2f, 0.5f, -1f, 3f, 0.5f, -1f);
    // first the first turn's box (100..200 of 999 -> pixels 90..180 x 60..120)
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(pointSets.get(0)[2 * i] * 900).isBetween(89.9f, 181.1f);
      assertThat(pointSets.get(0)[2 * i + 1] * 600).isBetween(59.9f, 121.1f);
    }
    // then the third turn's point (450, 300), then the question's box
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(pointSets.get(1)[2 * i] * 900).isBetween(444.9f, 455.1f);
      assertThat(pointSets.get(2)[2 * i] * 900).isBetween(799.9f, 899.1f);
      assertThat(pointSets.get(2)[2 * i + 1] * 600).isBetween(499.9f, 599.1f);
    }
  }

  @Test
  void aFollowUpWhoseRegionsAreAllInTheHistoryReadsTheNamedMaps() throws Exception {
    RequestContext context =
        TestFeatures.context("f", 0).toBuilder()
            .addHistory(
                Turn.newBuilder()
                    .setUser("What is <region_fea>?")
                    .setAssistant("It is red.")
                    .addRegions(
                        Region.newBuilder()
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                            .setBox(Box.newBuilder().setX1(100).setY1(50).setX2(200).setY2(150))))
            .setPrompt("And what is next to it?")
            .build();
    List<TileFeatures> stored = new ArrayList<>();
    List<List<FeatureRef>> reads = new ArrayList<>();

    FusedContext fused =
        new Fusion(UpsampleMode.BILINEAR, sampler, CLOCK, true, store(stored, reads))
            .fuse(noticeJoin(context, stored));

    assertThat(reads).as("the maps were read for the earlier turn's region").hasSize(1);
    assertThat(maps).hasSize(1);
    assertThat(fused.getRegionCount()).isEqualTo(1);
    assertThat(fused.getFeatureRefsCount()).isEqualTo(7);
  }

  @Test
  void aBadRegionOfAnEarlierTurnFailsBeforeAnyInferenceCall() {
    RequestContext context =
        TestFeatures.context("e", 0).toBuilder()
            .addHistory(
                Turn.newBuilder()
                    .setUser("What is <region_fea>?")
                    .addRegions(Region.newBuilder().setMaskPng(ByteString.copyFromUtf8("x"))))
            .build();
    Fusion fusion = new Fusion(UpsampleMode.NEAREST, sampler, CLOCK);
    FeatureJoin join = completeJoin(context);
    assertThatThrownBy(() -> fusion.fuse(join)).isInstanceOf(PermanentFailure.class);
    assertThat(maps).isEmpty();
  }

  @Test
  void unsupportedRegionFailsBeforeAnyInferenceCall() {
    RequestContext context =
        TestFeatures.context("c", 0).toBuilder()
            .addRegions(Region.newBuilder().setMaskPng(ByteString.copyFromUtf8("x")))
            .build();
    Fusion fusion = new Fusion(UpsampleMode.NEAREST, sampler, CLOCK);
    FeatureJoin join = completeJoin(context);
    assertThatThrownBy(() -> fusion.fuse(join)).isInstanceOf(PermanentFailure.class);
    assertThat(maps).isEmpty();
  }
}

package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PointSamplerTest {

  @Test
  void sameRequestAndRegionGiveTheSamePoints() {
    RegionMask mask = new RegionMask.Rect(10, 10, 200, 150);
    float[] a = PointSampler.points(mask, 640, 480, PointSampler.seed("req-1", 0));
    float[] b = PointSampler.points(mask, 640, 480, PointSampler.seed("req-1", 0));
    assertThat(a).containsExactly(b);
  }

  @Test
  void otherRequestsOrRegionsGiveOtherPoints() {
    RegionMask mask = new RegionMask.Rect(10, 10, 200, 150);
    float[] a = PointSampler.points(mask, 640, 480, PointSampler.seed("req-1", 0));
    assertThat(PointSampler.points(mask, 640, 480, PointSampler.seed("req-1", 1))).isNotEqualTo(a);
    assertThat(PointSampler.points(mask, 640, 480, PointSampler.seed("req-2", 0))).isNotEqualTo(a);
  }

  @Test
  void largeMaskGivesDistinctPixelsInsideIt() {
    RegionMask mask = new RegionMask.Rect(100, 50, 400, 300);
    long[] idx = PointSampler.sampleIndices(mask.size(), PointSampler.POINTS, 42);
    assertThat(idx).hasSize(512);
    assertThat(Arrays.stream(idx).distinct().count()).isEqualTo(512);
    assertThat(Arrays.stream(idx).min().getAsLong()).isGreaterThanOrEqualTo(0);
    assertThat(Arrays.stream(idx).max().getAsLong()).isLessThan(mask.size());
  }

  @Test
  void hugeBoxIsSampledWithoutListingItsPixels() {
    RegionMask mask = new RegionMask.Rect(0, 0, 100_000, 100_000); // 10^10 pixels
    long[] idx = PointSampler.sampleIndices(mask.size(), PointSampler.POINTS, 7);
    assertThat(Arrays.stream(idx).distinct().count()).isEqualTo(512);
    for (long i : idx) {
      assertThat(mask.contains(mask.x(i), mask.y(i))).isTrue();
    }
  }

  @Test
  void smallMaskGivesEveryPixelThenRandomRepeats() {
    long[] idx = PointSampler.sampleIndices(121, PointSampler.POINTS, 3);
    assertThat(idx).hasSize(512);
    for (int i = 0; i < 121; i++) {
      assertThat(idx[i]).isEqualTo(i);
    }
    assertThat(Arrays.stream(idx).skip(121)).allSatisfy(i -> assertThat(i).isBetween(0L, 120L));
  }

  @Test
  void pointsAreNormalisedOverTheOriginalImageAndLieInTheMask() {
    RegionMask mask = new RegionMask.Rect(45, 55, 56, 66);
    float[] p = PointSampler.points(mask, 640, 480, PointSampler.seed("r", 0));
    assertThat(p).hasSize(2 * PointSampler.POINTS);
    for (int i = 0; i < PointSampler.POINTS; i++) {
      int x = Math.round(p[2 * i] * 640);
      int y = Math.round(p[2 * i + 1] * 480);
      assertThat(mask.contains(x, y)).as("point %d at (%d, %d)", i, x, y).isTrue();
    }
  }

  @Test
  void pointsOfAPolygonLieInsideIt() {
    RegionMask mask =
        RegionMasks.of(
            ai.ferretstream.proto.v1.Region.newBuilder()
                .setPolygon(
                    ai.ferretstream.proto.v1.Polygon.newBuilder()
                        .addVertices(point(10, 10))
                        .addVertices(point(300, 20))
                        .addVertices(point(150, 200)))
                .build(),
            640,
            480);
    float[] p = PointSampler.points(mask, 640, 480, 11);
    for (int i = 0; i < PointSampler.POINTS; i++) {
      int x = Math.round(p[2 * i] * 640);
      int y = Math.round(p[2 * i + 1] * 480);
      assertThat(mask.contains(x, y)).isTrue();
    }
  }

  private static ai.ferretstream.proto.v1.Point point(int x, int y) {
    return ai.ferretstream.proto.v1.Point.newBuilder().setX(x).setY(y).build();
  }

  @Test
  void mapsPointsIntoThePaddedContentOfTheCanvas() {
    // 1920x1080 padded on 3x2: content 1008x567 at y = 52 of a 1008x672 canvas
    ai.ferretstream.proto.v1.GridLayout pad =
        ai.ferretstream.proto.v1.GridLayout.newBuilder()
            .setMode(ai.ferretstream.proto.v1.ResizeMode.RESIZE_MODE_PAD)
            .setCanvasWidth(1008)
            .setCanvasHeight(672)
            .setContentX(0)
            .setContentY(52)
            .setContentWidth(1008)
            .setContentHeight(567)
            .build();

    float[] points = PointSampler.onCanvas(new float[] {0f, 0f, 0.5f, 1f}, pad);

    assertThat(points[0]).isEqualTo(0f);
    assertThat(points[1]).isCloseTo(52f / 672, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(points[2]).isCloseTo(0.5f, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(points[3]).isCloseTo(619f / 672, org.assertj.core.data.Offset.offset(1e-6f));
  }

  @Test
  void leavesStretchedPointsAlone() {
    ai.ferretstream.proto.v1.GridLayout stretch =
        ai.ferretstream.proto.v1.GridLayout.newBuilder()
            .setMode(ai.ferretstream.proto.v1.ResizeMode.RESIZE_MODE_STRETCH)
            .setCanvasWidth(1008)
            .setCanvasHeight(672)
            .setContentWidth(1008)
            .setContentHeight(672)
            .build();

    assertThat(PointSampler.onCanvas(new float[] {0.25f, 0.75f}, stretch))
        .containsExactly(0.25f, 0.75f);
  }

  @Test
  void theFpsStartIsAPointIndexThatFollowsTheSeedAndSpreadsOverThePoints() {
    long seed = PointSampler.seed("req-1", 0);
    assertThat(PointSampler.fpsStart(seed)).isEqualTo(PointSampler.fpsStart(seed));
    java.util.Set<Integer> starts = new java.util.HashSet<>();
    for (int region = 0; region < 200; region++) {
      int start = PointSampler.fpsStart(PointSampler.seed("req-1", region));
      assertThat(start).isBetween(0, PointSampler.POINTS - 1);
      starts.add(start);
    }
    // 200 draws from 512 values: a constant or a narrow stream would give far fewer
    assertThat(starts).hasSizeGreaterThan(120);
  }
}

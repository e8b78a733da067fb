package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Polygon;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.testsupport.MaskPngs;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

class RegionMasksTest {

  private static Region box(CoordinateSpace space, int x1, int y1, int x2, int y2) {
    return Region.newBuilder()
        .setSpace(space)
        .setBox(Box.newBuilder().setX1(x1).setY1(y1).setX2(x2).setY2(y2))
        .build();
  }

  private static Region point(int x, int y) {
    return Region.newBuilder()
        .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
        .setPoint(Point.newBuilder().setX(x).setY(y))
        .build();
  }

  private static Region polygon(int... xy) {
    Polygon.Builder p = Polygon.newBuilder();
    for (int i = 0; i < xy.length; i += 2) {
      p.addVertices(Point.newBuilder().setX(xy[i]).setY(xy[i + 1]));
    }
    return Region.newBuilder()
        .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
        .setPolygon(p)
        .build();
  }

  @Test
  void boxIncludesBothCorners() {
    RegionMask mask =
        RegionMasks.of(box(CoordinateSpace.COORDINATE_SPACE_PIXELS, 10, 20, 30, 25), 640, 480);
    assertThat(mask.size()).isEqualTo(21L * 6);
    assertThat(mask.contains(10, 20)).isTrue();
    assertThat(mask.contains(30, 25)).isTrue();
    assertThat(mask.contains(31, 25)).isFalse();
    assertThat(mask.contains(30, 26)).isFalse();
    assertThat(mask.contains(9, 20)).isFalse();
  }

  @Test
  void normalizedBoxMapsToPixelsOfTheOriginalImage() {
    // x_px = int(q * W / 1000): 500 * 640 / 1000 = 320, 999 * 640 / 1000 = 639.36 -> 639
    RegionMask mask =
        RegionMasks.of(
            box(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999, 500, 250, 999, 999), 640, 480);
    assertThat(mask).isEqualTo(new RegionMask.Rect(320, 120, 640, 480));
  }

  @Test
  void boxOutsideTheImageIsClampedAndCornersInAnyOrderAreAccepted() {
    RegionMask mask =
        RegionMasks.of(box(CoordinateSpace.COORDINATE_SPACE_PIXELS, 700, 500, 600, -5), 640, 480);
    assertThat(mask).isEqualTo(new RegionMask.Rect(600, 0, 640, 480));
  }

  @Test
  void pointIsAnElevenByElevenWindow() {
    RegionMask mask = RegionMasks.of(point(50, 60), 640, 480);
    assertThat(mask).isEqualTo(new RegionMask.Rect(45, 55, 56, 66));
    assertThat(mask.size()).isEqualTo(121);
  }

  @Test
  void pointWindowIsClampedAtTheImageBorders() {
    assertThat(RegionMasks.of(point(2, 3), 100, 80)).isEqualTo(new RegionMask.Rect(0, 0, 8, 9));
    assertThat(RegionMasks.of(point(99, 79), 100, 80))
        .isEqualTo(new RegionMask.Rect(94, 74, 100, 80));
    // a point beyond the image is first clamped onto it
    assertThat(RegionMasks.of(point(500, 500), 100, 80))
        .isEqualTo(new RegionMask.Rect(94, 74, 100, 80));
  }

  @Test
  void polygonCoversThePixelsWhoseCentresAreInside() {
    // right triangle with legs along the axes: centre (x+.5, y+.5) inside when x + y + 1 < 10
    RegionMask mask = RegionMasks.of(polygon(0, 0, 10, 0, 0, 10), 100, 100);
    long count = 0;
    for (int y = 0; y < 12; y++) {
      for (int x = 0; x < 12; x++) {
        boolean inside = x + y + 1 < 10;
        assertThat(mask.contains(x, y)).as("(%d, %d)", x, y).isEqualTo(inside);
        count += inside ? 1 : 0;
      }
    }
    assertThat(mask.size()).isEqualTo(count);
  }

  @Test
  void polygonIndexAddressesEveryPixelOnce() {
    RegionMask mask = RegionMasks.of(polygon(5, 5, 40, 8, 30, 30, 8, 25), 100, 100);
    java.util.Set<Long> seen = new java.util.HashSet<>();
    for (long i = 0; i < mask.size(); i++) {
      int x = mask.x(i);
      int y = mask.y(i);
      assertThat(mask.contains(x, y)).isTrue();
      assertThat(seen.add((long) y * 1000 + x)).isTrue();
    }
  }

  @Test
  void selfIntersectingPolygonUsesTheEvenOddRule() {
    // a pentagram: the central pentagon is wound twice, so even-odd leaves it out
    int[] xy = new int[10];
    for (int k = 0; k < 5; k++) {
      double angle = Math.toRadians(-90 + 144 * k);
      xy[2 * k] = (int) Math.round(50 + 40 * Math.cos(angle));
      xy[2 * k + 1] = (int) Math.round(50 + 40 * Math.sin(angle));
    }
    RegionMask mask = RegionMasks.of(polygon(xy), 100, 100);
    assertThat(mask.contains(50, 50)).as("centre").isFalse();
    assertThat(mask.contains(50, 20)).as("top point").isTrue();
    assertThat(mask.contains(50, 5)).as("above the star").isFalse();
  }

  @Test
  void degeneratePolygonIsRejected() {
    assertThatThrownBy(() -> RegionMasks.of(polygon(1, 1, 5, 5, 9, 9), 100, 100))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
    assertThatThrownBy(() -> RegionMasks.of(polygon(1, 1, 5, 5), 100, 100))
        .isInstanceOf(PermanentFailure.class);
  }

  private static Region mask(java.awt.image.BufferedImage image) {
    return Region.newBuilder()
        .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
        .setMaskPng(MaskPngs.png(image))
        .build();
  }

  private static void assertPixels(RegionMask mask, int width, int height, MaskPngs.Shape shape) {
    MaskPngTest.assertMask(mask, width, height, shape);
  }

  @Test
  void rectangleMaskHasTheSamePixelsAsTheBox() {
    MaskPngs.Shape rect = (x, y) -> x >= 10 && x <= 30 && y >= 20 && y <= 25;
    RegionMask mask = RegionMasks.of(mask(MaskPngs.grey(64, 48, rect)), 64, 48);
    RegionMask box =
        RegionMasks.of(box(CoordinateSpace.COORDINATE_SPACE_PIXELS, 10, 20, 30, 25), 64, 48);
    assertPixels(mask, 64, 48, rect);
    assertThat(mask.size()).isEqualTo(box.size());
    for (long i = 0; i < box.size(); i++) {
      assertThat(mask.x(i)).isEqualTo(box.x(i));
      assertThat(mask.y(i)).isEqualTo(box.y(i));
    }
  }

  @Test
  void lShapedMaskHasExactlyItsPixels() {
    MaskPngs.Shape l =
        (x, y) -> (x >= 5 && x < 12 && y >= 4 && y < 40) || (x >= 5 && x < 50 && y >= 33 && y < 40);
    RegionMask mask = RegionMasks.of(mask(MaskPngs.binary(64, 48, l)), 64, 48);
    assertPixels(mask, 64, 48, l);
  }

  @Test
  void singlePixelMask() {
    RegionMask mask =
        RegionMasks.of(mask(MaskPngs.grey(64, 48, (x, y) -> x == 63 && y == 0)), 64, 48);
    assertThat(mask.size()).isEqualTo(1);
    assertThat(mask.x(0)).isEqualTo(63);
    assertThat(mask.y(0)).isEqualTo(0);
    float[] points = PointSampler.points(mask, 64, 48, PointSampler.seed("r", 0));
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(points[2 * i]).isEqualTo(63f / 64);
      assertThat(points[2 * i + 1]).isEqualTo(0f);
    }
  }

  @Test
  void fullImageMask() {
    RegionMask mask = RegionMasks.of(mask(MaskPngs.rgb(64, 48, (x, y) -> true)), 64, 48);
    assertThat(mask.size()).isEqualTo(64L * 48);
    assertPixels(mask, 64, 48, (x, y) -> true);
  }

  @Test
  void maskPointsLieInsideTheMaskAndRepeatForTheSameSeed() {
    // a ring: every pixel between radius 10 and 20 of (40, 30); far more than 512 pixels
    MaskPngs.Shape ring =
        (x, y) -> {
          int d2 = (x - 40) * (x - 40) + (y - 30) * (y - 30);
          return d2 >= 100 && d2 <= 400;
        };
    RegionMask mask = RegionMasks.of(mask(MaskPngs.grey(80, 60, ring)), 80, 60);
    assertThat(mask.size()).isGreaterThan(PointSampler.POINTS);
    long seed = PointSampler.seed("req-mask", 2);
    float[] points = PointSampler.points(mask, 80, 60, seed);
    java.util.Set<Integer> distinct = new java.util.HashSet<>();
    for (int i = 0; i < PointSampler.POINTS; i++) {
      int x = Math.round(points[2 * i] * 80);
      int y = Math.round(points[2 * i + 1] * 60);
      assertThat(ring.inside(x, y)).as("point (%d, %d)", x, y).isTrue();
      distinct.add(y * 80 + x);
    }
    assertThat(distinct).hasSize(PointSampler.POINTS);
    assertThat(PointSampler.points(mask, 80, 60, seed)).containsExactly(points);
    // decoding the same PNG again samples the same points
    RegionMask again = RegionMasks.of(mask(MaskPngs.grey(80, 60, ring)), 80, 60);
    assertThat(PointSampler.points(again, 80, 60, seed)).containsExactly(points);
    assertThat(PointSampler.points(mask, 80, 60, PointSampler.seed("req-mask", 3)))
        .isNotEqualTo(points);
  }

  @Test
  void smallMaskPointsAreAllItsPixelsThenRepeats() {
    MaskPngs.Shape three = (x, y) -> y == 7 && (x == 1 || x == 9 || x == 30);
    RegionMask mask = RegionMasks.of(mask(MaskPngs.grey(40, 10, three)), 40, 10);
    float[] points = PointSampler.points(mask, 40, 10, PointSampler.seed("r", 0));
    for (int i = 0; i < PointSampler.POINTS; i++) {
      assertThat(three.inside(Math.round(points[2 * i] * 40), Math.round(points[2 * i + 1] * 10)))
          .isTrue();
    }
    assertThat(points[0] * 40).isEqualTo(1f);
    assertThat(points[2] * 40).isEqualTo(9f);
    assertThat(points[4] * 40).isEqualTo(30f);
  }

  @Test
  void maskOfAnotherSizeIsAnInvalidRegion() {
    Region region = mask(MaskPngs.grey(64, 48, (x, y) -> true));
    assertThatThrownBy(() -> RegionMasks.of(region, 48, 64))
        .isInstanceOfSatisfying(
            PermanentFailure.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_region");
              assertThat(e.getMessage()).contains("64x48").contains("48x64");
            });
  }

  @Test
  void garbageMaskBytesAreAnInvalidRegion() {
    Region region = Region.newBuilder().setMaskPng(ByteString.copyFromUtf8("png")).build();
    assertThatThrownBy(() -> RegionMasks.of(region, 100, 100))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
  }

  @Test
  void emptyMaskIsAnInvalidRegion() {
    Region region = mask(MaskPngs.grey(64, 48, (x, y) -> false));
    assertThatThrownBy(() -> RegionMasks.of(region, 64, 48))
        .isInstanceOfSatisfying(
            PermanentFailure.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_region");
              assertThat(e.getMessage()).contains("no inside pixel");
            });
  }

  @Test
  void regionWithoutShapeIsRejected() {
    assertThatThrownBy(() -> RegionMasks.of(Region.getDefaultInstance(), 100, 100))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
  }
}

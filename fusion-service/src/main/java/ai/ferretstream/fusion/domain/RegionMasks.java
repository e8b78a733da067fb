package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.Normalized999;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Region;
import java.util.Arrays;

/**
 * Region masks at the original image resolution, as Ferret builds them: a box is inclusive {@code
 * [x1..x2] x [y1..y2]}; a point is the 11x11 window {@code [max(0, x-5), min(W, x+6))}, likewise
 * for y; a polygon is rasterised with the even-odd rule on pixel centres inside its bounding box; a
 * mask PNG at the image size gives its pixels with a non-zero colour sample (see {@link MaskPng};
 * its region's coordinate space does not apply). Coordinates in {@link
 * CoordinateSpace#COORDINATE_SPACE_NORMALIZED_999} become pixels as {@code int(q * W / 1000)};
 * pixel coordinates (also an unspecified space) are taken as they are. Every coordinate is clamped
 * to the image.
 */
public final class RegionMasks {

  /** Half size of the window around a point region (11x11). */
  static final int POINT_RADIUS = 5;

  private RegionMasks() {}

  /**
   * The mask of {@code region} on a {@code width x height} image.
   *
   * @throws PermanentFailure {@code invalid_region} for a region without a shape, a polygon that
   *     covers no pixel, or a mask PNG that is not a PNG of the image's size with an inside pixel
   */
  public static RegionMask of(Region region, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new PermanentFailure(
          "invalid_request", "image size " + width + "x" + height + " is not positive");
    }
    CoordinateSpace space = region.getSpace();
    return switch (region.getShapeCase()) {
      case BOX -> {
        int x1 = px(space, region.getBox().getX1(), width);
        int y1 = px(space, region.getBox().getY1(), height);
        int x2 = px(space, region.getBox().getX2(), width);
        int y2 = px(space, region.getBox().getY2(), height);
        yield new RegionMask.Rect(
            Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2) + 1, Math.max(y1, y2) + 1);
      }
      case POINT -> {
        int x = px(space, region.getPoint().getX(), width);
        int y = px(space, region.getPoint().getY(), height);
        yield new RegionMask.Rect(
            Math.max(0, x - POINT_RADIUS),
            Math.max(0, y - POINT_RADIUS),
            Math.min(width, x + POINT_RADIUS + 1),
            Math.min(height, y + POINT_RADIUS + 1));
      }
      case POLYGON -> polygon(region, width, height);
      case MASK_PNG -> MaskPng.decode(region.getMaskPng(), width, height);
      case SHAPE_NOT_SET -> throw new PermanentFailure("invalid_region", "region has no shape");
    };
  }

  /** A coordinate in pixels, clamped to {@code [0, extent - 1]} ({@link Normalized999}). */
  static int px(CoordinateSpace space, int value, int extent) {
    if (space == CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999) {
      return Normalized999.toPixel(value, extent);
    }
    return (int) Math.max(0, Math.min(extent - 1L, value));
  }

  private static RegionMask polygon(Region region, int width, int height) {
    int n = region.getPolygon().getVerticesCount();
    if (n < 3) {
      throw new PermanentFailure("invalid_region", "a polygon needs at least 3 vertices, got " + n);
    }
    CoordinateSpace space = region.getSpace();
    int[] vx = new int[n];
    int[] vy = new int[n];
    int minX = Integer.MAX_VALUE;
    int minY = Integer.MAX_VALUE;
    int maxX = Integer.MIN_VALUE;
    int maxY = Integer.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      Point p = region.getPolygon().getVertices(i);
      vx[i] = px(space, p.getX(), width);
      vy[i] = px(space, p.getY(), height);
      minX = Math.min(minX, vx[i]);
      minY = Math.min(minY, vy[i]);
      maxX = Math.max(maxX, vx[i]);
      maxY = Math.max(maxY, vy[i]);
    }
    int rowsInBox = maxY - minY + 1;
    int capacity = Math.max(4, rowsInBox * 2);
    int[] runRow = new int[capacity];
    int[] runStart = new int[capacity];
    int[] runEnd = new int[capacity];
    int runs = 0;
    double[] crossings = new double[n];
    for (int y = minY; y <= maxY; y++) {
      double yc = y + 0.5;
      int count = 0;
      for (int i = 0, j = n - 1; i < n; j = i++) {
        boolean above = vy[i] > yc;
        if (above != (vy[j] > yc)) {
          crossings[count++] = vx[i] + (yc - vy[i]) * (vx[j] - vx[i]) / (double) (vy[j] - vy[i]);
        }
      }
      Arrays.sort(crossings, 0, count);
      for (int k = 0; k + 1 < count; k += 2) {
        // pixel x is inside when its centre x + 0.5 lies in [a, b)
        int start = (int) Math.max(minX, Math.ceil(crossings[k] - 0.5));
        int end = (int) Math.min(maxX + 1L, (long) Math.ceil(crossings[k + 1] - 0.5));
        if (end <= start) {
          continue;
        }
        if (runs == runRow.length) {
          runRow = Arrays.copyOf(runRow, runs * 2);
          runStart = Arrays.copyOf(runStart, runs * 2);
          runEnd = Arrays.copyOf(runEnd, runs * 2);
        }
        runRow[runs] = y;
        runStart[runs] = start;
        runEnd[runs] = end;
        runs++;
      }
    }
    if (runs == 0) {
      throw new PermanentFailure("invalid_region", "the polygon covers no pixel centre");
    }
    return RegionMask.Spans.of(runRow, runStart, runEnd, runs);
  }
}

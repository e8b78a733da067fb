package ai.ferretstream.fusion.domain;

/**
 * The pixels of one region at the original image resolution, addressable by index so that sampling
 * never materialises a pixel list: index {@code i} in {@code [0, size())} names one pixel, in
 * row-major order.
 */
public sealed interface RegionMask permits RegionMask.Rect, RegionMask.Spans {

  /** Number of pixels in the mask. */
  long size();

  /** Column of the pixel with index {@code i}. */
  int x(long i);

  /** Row of the pixel with index {@code i}. */
  int y(long i);

  /** Whether pixel {@code (x, y)} is in the mask. */
  boolean contains(int x, int y);

  /** The pixels {@code [x0, x1) x [y0, y1)}. */
  record Rect(int x0, int y0, int x1, int y1) implements RegionMask {
    public Rect {
      if (x1 <= x0 || y1 <= y0) {
        throw new IllegalArgumentException(
            "empty rectangle [" + x0 + ", " + x1 + ") x [" + y0 + ", " + y1 + ")");
      }
    }

    @Override
    public long size() {
      return (long) (x1 - x0) * (y1 - y0);
    }

    @Override
    public int x(long i) {
      return x0 + (int) (i % (x1 - x0));
    }

    @Override
    public int y(long i) {
      return y0 + (int) (i / (x1 - x0));
    }

    @Override
    public boolean contains(int x, int y) {
      return x >= x0 && x < x1 && y >= y0 && y < y1;
    }
  }

  /**
   * Horizontal runs of pixels: run {@code r} covers {@code [xStart[r], xEnd[r])} on row {@code
   * row[r]}; runs are sorted by row, then by column. {@code before[r]} is the pixel count of the
   * runs before {@code r}, for index lookup by binary search.
   */
  record Spans(int[] row, int[] xStart, int[] xEnd, long[] before, long size)
      implements RegionMask {

    static Spans of(int[] row, int[] xStart, int[] xEnd, int count) {
      long[] before = new long[count];
      long total = 0;
      for (int r = 0; r < count; r++) {
        before[r] = total;
        total += xEnd[r] - xStart[r];
      }
      return new Spans(
          java.util.Arrays.copyOf(row, count),
          java.util.Arrays.copyOf(xStart, count),
          java.util.Arrays.copyOf(xEnd, count),
          before,
          total);
    }

    private int run(long i) {
      if (i < 0 || i >= size) {
        throw new IndexOutOfBoundsException("pixel " + i + " of " + size);
      }
      int lo = 0;
      int hi = before.length - 1;
      while (lo < hi) {
        int mid = (lo + hi + 1) >>> 1;
        if (before[mid] <= i) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      return lo;
    }

    @Override
    public int x(long i) {
      int r = run(i);
      return xStart[r] + (int) (i - before[r]);
    }

    @Override
    public int y(long i) {
      return row[run(i)];
    }

    @Override
    public boolean contains(int x, int y) {
      for (int r = 0; r < row.length; r++) {
        if (row[r] == y && x >= xStart[r] && x < xEnd[r]) {
          return true;
        }
      }
      return false;
    }
  }
}

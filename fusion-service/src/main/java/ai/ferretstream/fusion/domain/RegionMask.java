package ai.ferretstream.fusion.domain;

/**
 * The pixels of one region at the original image resolution, addressable by index so that sampling
 * never materialises a pixel list: index {@code i} in {@code [0, size())} names one pixel, in
 * row-major order.
 */
public sealed interface RegionMask permits RegionMask.Rect, RegionMask.Spans, RegionMask.Bits {

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

  /**
   * An arbitrary set of pixels of a {@code width x height} image, one bit per pixel: bit {@code y *
   * width + x} of {@code words} (64 pixels a word, lowest bit first) is set when pixel {@code (x,
   * y)} is in the mask, so index order is row-major. Index lookup is a select on the bits: {@code
   * rank[b]} counts the set bits before block {@code b} of {@value #BLOCK_WORDS} words, found by
   * binary search, then at most {@value #BLOCK_WORDS} words are counted. Memory is {@code width *
   * height / 8} bytes plus 1/32 of that for the ranks, whatever the shape.
   */
  final class Bits implements RegionMask {

    /** Words per rank block. */
    static final int BLOCK_WORDS = 8;

    private final int width;
    private final int height;
    private final long[] words;
    private final long[] rank;
    private final long size;

    private Bits(int width, int height, long[] words, long[] rank, long size) {
      this.width = width;
      this.height = height;
      this.words = words;
      this.rank = rank;
      this.size = size;
    }

    /**
     * The mask whose pixels are the set bits of {@code words}; takes ownership of the array.
     *
     * @throws IllegalArgumentException when {@code words} does not hold exactly {@code width *
     *     height} bits (rounded up to whole words) or has a bit set past the last pixel
     */
    static Bits of(int width, int height, long[] words) {
      if (width <= 0 || height <= 0) {
        throw new IllegalArgumentException("mask size " + width + "x" + height);
      }
      long pixels = (long) width * height;
      if (words.length != wordsFor(width, height)) {
        throw new IllegalArgumentException(
            words.length + " words for " + width + "x" + height + " pixels");
      }
      int tail = (int) (pixels & 63);
      if (tail != 0 && (words[words.length - 1] >>> tail) != 0) {
        throw new IllegalArgumentException("bits set past the last pixel");
      }
      long[] rank = new long[(words.length + BLOCK_WORDS - 1) / BLOCK_WORDS];
      long total = 0;
      for (int w = 0; w < words.length; w++) {
        if (w % BLOCK_WORDS == 0) {
          rank[w / BLOCK_WORDS] = total;
        }
        total += Long.bitCount(words[w]);
      }
      return new Bits(width, height, words, rank, total);
    }

    /** Words needed for a {@code width x height} bit mask. */
    static int wordsFor(int width, int height) {
      long words = ((long) width * height + 63) >>> 6;
      if (words > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("mask " + width + "x" + height + " is too large");
      }
      return (int) words;
    }

    public int width() {
      return width;
    }

    public int height() {
      return height;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public int x(long i) {
      return (int) (select(i) % width);
    }

    @Override
    public int y(long i) {
      return (int) (select(i) / width);
    }

    @Override
    public boolean contains(int x, int y) {
      if (x < 0 || y < 0 || x >= width || y >= height) {
        return false;
      }
      long p = (long) y * width + x;
      return (words[(int) (p >>> 6)] & (1L << (p & 63))) != 0;
    }

    /** Linear position {@code y * width + x} of the pixel with index {@code i}. */
    private long select(long i) {
      if (i < 0 || i >= size) {
        throw new IndexOutOfBoundsException("pixel " + i + " of " + size);
      }
      int lo = 0;
      int hi = rank.length - 1;
      while (lo < hi) {
        int mid = (lo + hi + 1) >>> 1;
        if (rank[mid] <= i) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      long remaining = i - rank[lo];
      int end = Math.min(words.length, (lo + 1) * BLOCK_WORDS);
      for (int w = lo * BLOCK_WORDS; w < end; w++) {
        long word = words[w];
        int count = Long.bitCount(word);
        if (remaining < count) {
          for (long k = 0; k < remaining; k++) {
            word &= word - 1; // clear the lowest set bit
          }
          return ((long) w << 6) + Long.numberOfTrailingZeros(word);
        }
        remaining -= count;
      }
      throw new IllegalStateException("rank table out of step with the bits");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Bits other
          && width == other.width
          && height == other.height
          && java.util.Arrays.equals(words, other.words);
    }

    @Override
    public int hashCode() {
      return 31 * (31 * width + height) + java.util.Arrays.hashCode(words);
    }

    @Override
    public String toString() {
      return "Bits[" + width + "x" + height + ", " + size + " pixels]";
    }
  }
}

package ai.ferretstream.tiler.domain;

/**
 * Resizes 8-bit RGB images with Pillow's {@code Image.resize(size, Image.BICUBIC)} semantics, so
 * that tiles match what the Python reference feeds the encoders:
 *
 * <ul>
 *   <li>separable: a horizontal pass over the source rows the vertical pass needs, then a vertical
 *       pass;
 *   <li>cubic convolution kernel with a = -0.5 and support 2, widened by the scale factor when
 *       downscaling (antialiasing);
 *   <li>sample positions at pixel centres, window clamped to the image, weights normalised to sum
 *       1;
 *   <li>weights in 22-bit fixed point, rounded away from zero, sums started at one half and shifted
 *       down, results clamped to 0..255.
 * </ul>
 *
 * <p>The weight tables are precomputed per call (one per axis); the pixel loops touch only int and
 * byte arrays.
 */
public final class BicubicResizer {

  /** Fixed-point precision of the 8-bit weights: 32 bits minus 8 for the value, 2 for overflow. */
  static final int PRECISION_BITS = 32 - 8 - 2;

  private static final double SUPPORT = 2.0;
  private static final double A = -0.5;

  private BicubicResizer() {}

  /** {@code src} stretched to {@code width} x {@code height}; {@code src} itself if sizes match. */
  public static RgbImage resize(RgbImage src, int width, int height) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
    }
    boolean horizontal = width != src.width();
    boolean vertical = height != src.height();
    if (!horizontal && !vertical) {
      return src;
    }
    Weights vert = Weights.of(src.height(), height);
    byte[] pixels = src.pixels();
    int rows = src.height();
    int[] vertBounds = vert.bounds.clone();
    if (horizontal) {
      Weights horiz = Weights.of(src.width(), width);
      int firstRow = vert.bounds[0];
      int lastRow = vert.bounds[2 * height - 2] + vert.bounds[2 * height - 1];
      for (int i = 0; i < height; i++) {
        vertBounds[2 * i] -= firstRow;
      }
      rows = lastRow - firstRow;
      pixels = horizontalPass(pixels, src.width(), firstRow, rows, width, horiz);
    }
    if (vertical) {
      pixels = verticalPass(pixels, width, height, vertBounds, vert);
    }
    return new RgbImage(width, height, pixels);
  }

  private static byte[] horizontalPass(
      byte[] in, int inWidth, int firstRow, int rows, int outWidth, Weights w) {
    byte[] out = new byte[rows * outWidth * 3];
    int[] bounds = w.bounds;
    int[] k = w.fixed;
    int ksize = w.ksize;
    int half = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < rows; y++) {
      int rowStart = (y + firstRow) * inWidth * 3;
      int o = y * outWidth * 3;
      for (int xx = 0; xx < outWidth; xx++) {
        int xmin = bounds[2 * xx];
        int count = bounds[2 * xx + 1];
        int kb = xx * ksize;
        int s0 = half;
        int s1 = half;
        int s2 = half;
        int p = rowStart + xmin * 3;
        for (int x = 0; x < count; x++, p += 3) {
          int weight = k[kb + x];
          s0 += (in[p] & 0xff) * weight;
          s1 += (in[p + 1] & 0xff) * weight;
          s2 += (in[p + 2] & 0xff) * weight;
        }
        out[o++] = clip8(s0);
        out[o++] = clip8(s1);
        out[o++] = clip8(s2);
      }
    }
    return out;
  }

  private static byte[] verticalPass(byte[] in, int width, int outHeight, int[] bounds, Weights w) {
    int rowBytes = width * 3;
    byte[] out = new byte[outHeight * rowBytes];
    int[] k = w.fixed;
    int ksize = w.ksize;
    int half = 1 << (PRECISION_BITS - 1);
    int[] sums = new int[rowBytes];
    for (int yy = 0; yy < outHeight; yy++) {
      int ymin = bounds[2 * yy];
      int count = bounds[2 * yy + 1];
      int kb = yy * ksize;
      java.util.Arrays.fill(sums, half);
      // accumulate whole source rows: sequential access the JIT can vectorise
      for (int y = 0; y < count; y++) {
        int weight = k[kb + y];
        int p = (ymin + y) * rowBytes;
        for (int i = 0; i < rowBytes; i++) {
          sums[i] += (in[p + i] & 0xff) * weight;
        }
      }
      int o = yy * rowBytes;
      for (int i = 0; i < rowBytes; i++) {
        out[o + i] = clip8(sums[i]);
      }
    }
    return out;
  }

  static byte clip8(int sum) {
    int v = sum >> PRECISION_BITS;
    if (v < 0) {
      return 0;
    }
    return (byte) Math.min(v, 255);
  }

  static double cubic(double x) {
    if (x < 0.0) {
      x = -x;
    }
    if (x < 1.0) {
      return ((A + 2.0) * x - (A + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
      return (((x - 5) * x + 8) * x - 4) * A;
    }
    return 0.0;
  }

  /**
   * The weights of one axis: for output position {@code i}, source samples {@code bounds[2i]} ..
   * {@code bounds[2i] + bounds[2i+1] - 1} with fixed-point weights {@code fixed[i*ksize ..]}.
   */
  static final class Weights {
    final int ksize;
    final int[] bounds;
    final int[] fixed;

    private Weights(int ksize, int[] bounds, int[] fixed) {
      this.ksize = ksize;
      this.bounds = bounds;
      this.fixed = fixed;
    }

    static Weights of(int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterScale = Math.max(scale, 1.0);
      double support = SUPPORT * filterScale;
      int ksize = (int) Math.ceil(support) * 2 + 1;
      int[] bounds = new int[outSize * 2];
      int[] fixed = new int[Math.multiplyExact(outSize, ksize)];
      double[] k = new double[ksize];
      double ss = 1.0 / filterScale;
      for (int xx = 0; xx < outSize; xx++) {
        double center = (xx + 0.5) * scale;
        int xmin = (int) (center - support + 0.5);
        if (xmin < 0) {
          xmin = 0;
        }
        int xmax = (int) (center + support + 0.5);
        if (xmax > inSize) {
          xmax = inSize;
        }
        xmax -= xmin;
        double total = 0.0;
        for (int x = 0; x < xmax; x++) {
          double w = cubic((x + xmin - center + 0.5) * ss);
          k[x] = w;
          total += w;
        }
        for (int x = 0; x < xmax; x++) {
          double w = total != 0.0 ? k[x] / total : k[x];
          fixed[xx * ksize + x] =
              w < 0
                  ? (int) (-0.5 + w * (1 << PRECISION_BITS))
                  : (int) (0.5 + w * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
      }
      return new Weights(ksize, bounds, fixed);
    }
  }
}

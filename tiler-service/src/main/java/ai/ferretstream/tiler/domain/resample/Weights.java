package ai.ferretstream.tiler.domain.resample;

/**
 * The fixed-point filter weights of one axis, as Pillow computes them for {@code BICUBIC}: for
 * output position {@code i}, source samples {@code first(i) .. first(i) + count(i) - 1} with the
 * weights {@code fixed[i * ksize ..]}.
 *
 * <p>Cubic convolution with a = -0.5 and support 2, widened by the scale factor when downscaling;
 * sample positions at pixel centres; the window clamped to the image; weights normalised to sum 1,
 * then scaled to {@link #PRECISION_BITS} bits and rounded away from zero.
 */
final class Weights {

  /** Fixed-point precision of the 8-bit weights: 32 bits minus 8 for the value, 2 for overflow. */
  static final int PRECISION_BITS = 32 - 8 - 2;

  /** Start value of every sum: one half, so that the final shift rounds to nearest. */
  static final int HALF = 1 << (PRECISION_BITS - 1);

  private static final double SUPPORT = 2.0;
  private static final double A = -0.5;

  final int inSize;
  final int outSize;
  final int ksize;
  final int[] bounds;
  final int[] fixed;

  private Weights(int inSize, int outSize, int ksize, int[] bounds, int[] fixed) {
    this.inSize = inSize;
    this.outSize = outSize;
    this.ksize = ksize;
    this.bounds = bounds;
    this.fixed = fixed;
  }

  int first(int i) {
    return bounds[2 * i];
  }

  int count(int i) {
    return bounds[2 * i + 1];
  }

  /** One past the last source sample any output position reads. */
  int end() {
    return bounds[2 * outSize - 2] + bounds[2 * outSize - 1];
  }

  static Weights of(int inSize, int outSize) {
    if (inSize < 1 || outSize < 1) {
      throw new IllegalArgumentException("sizes must be positive: " + inSize + " -> " + outSize);
    }
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
    return new Weights(inSize, outSize, ksize, bounds, fixed);
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

  /** The 8-bit value of a fixed-point sum: shifted down and clamped to 0..255. */
  static int clip8(int sum) {
    int v = sum >> PRECISION_BITS;
    return v < 0 ? 0 : Math.min(v, 255);
  }
}

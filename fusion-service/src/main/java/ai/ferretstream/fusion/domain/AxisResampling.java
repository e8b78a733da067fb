package ai.ferretstream.fusion.domain;

/**
 * Where each output index of one axis reads from when a map is resized from {@code in} to {@code
 * out} positions: two source indices and their weights (nearest: one index, weight 1). Computed
 * once per axis so the per-element loops only index arrays.
 *
 * <p>Both formulas follow PyTorch's CPU kernels in single precision: legacy nearest uses {@code
 * min(floor(dst * (float) in / out), in - 1)}; bilinear with {@code align_corners=False} uses
 * {@code src = max((dst + 0.5) * in / out - 0.5, 0)}, {@code i0 = (int) src}, {@code i1 = min(i0 +
 * 1, in - 1)}, {@code w1 = src - i0}, {@code w0 = 1 - w1}.
 */
record AxisResampling(int[] lo, int[] hi, float[] loWeight, float[] hiWeight) {

  static AxisResampling of(UpsampleMode mode, int in, int out) {
    if (in <= 0 || out <= 0) {
      throw new IllegalArgumentException("cannot resample " + in + " to " + out + " positions");
    }
    return switch (mode) {
      case NEAREST -> nearest(in, out);
      case BILINEAR -> bilinear(in, out);
    };
  }

  static AxisResampling nearest(int in, int out) {
    int[] idx = new int[out];
    float[] one = new float[out];
    float[] zero = new float[out];
    float scale = (float) in / out;
    for (int d = 0; d < out; d++) {
      int s;
      if (in == out) {
        s = d;
      } else if (out == 2 * in) {
        s = d >> 1;
      } else {
        s = Math.min((int) Math.floor(d * scale), in - 1);
      }
      idx[d] = s;
      one[d] = 1f;
    }
    return new AxisResampling(idx, idx, one, zero);
  }

  static AxisResampling bilinear(int in, int out) {
    int[] lo = new int[out];
    int[] hi = new int[out];
    float[] w0 = new float[out];
    float[] w1 = new float[out];
    float scale = (float) in / out;
    for (int d = 0; d < out; d++) {
      float src = scale * (d + 0.5f) - 0.5f;
      if (src < 0f) {
        src = 0f;
      }
      int i0 = (int) src;
      int i1 = i0 < in - 1 ? i0 + 1 : i0;
      float l1 = src - i0;
      lo[d] = i0;
      hi[d] = i1;
      w1[d] = l1;
      w0[d] = 1f - l1;
    }
    return new AxisResampling(lo, hi, w0, w1);
  }

  /**
   * As {@link #of}, with the {@code in} source positions spread over {@code [start, start +
   * length)} of the {@code out} output positions only (a padded canvas: the image fills part of
   * it). Output position {@code d} is inside when its centre {@code d + 0.5} is; it then reads at
   * {@code t = (d + 0.5 - start) / length} of the source: nearest {@code min(floor(t * in), in -
   * 1)}, bilinear {@code src = max(t * in - 0.5, 0)} as in {@link #bilinear}. Outside, both weights
   * are 0: no source feature. The whole axis ({@code start} 0, {@code length == out}) is exactly
   * {@link #of}.
   */
  static AxisResampling within(UpsampleMode mode, int in, int out, double start, double length) {
    if (in <= 0 || out <= 0 || !(length > 0)) {
      throw new IllegalArgumentException(
          "cannot resample " + in + " positions onto " + length + " of " + out);
    }
    if (start == 0 && length == out) {
      return of(mode, in, out);
    }
    int[] lo = new int[out];
    int[] hi = new int[out];
    float[] w0 = new float[out];
    float[] w1 = new float[out];
    for (int d = 0; d < out; d++) {
      double centre = d + 0.5;
      if (centre < start || centre >= start + length) {
        continue;
      }
      double t = (centre - start) / length;
      if (mode == UpsampleMode.NEAREST) {
        int s = Math.min((int) Math.floor(t * in), in - 1);
        lo[d] = s;
        hi[d] = s;
        w0[d] = 1f;
      } else {
        float src = Math.max((float) (t * in) - 0.5f, 0f);
        int i0 = Math.min((int) src, in - 1);
        int i1 = i0 < in - 1 ? i0 + 1 : i0;
        float l1 = Math.min(src - i0, 1f);
        lo[d] = i0;
        hi[d] = i1;
        w1[d] = l1;
        w0[d] = 1f - l1;
      }
    }
    return new AxisResampling(lo, hi, w0, w1);
  }

  /** Whether every output position reads exactly one source position whole. */
  boolean isNearest() {
    for (int d = 0; d < hiWeight.length; d++) {
      if (hiWeight[d] != 0f || loWeight[d] != 1f) {
        return false;
      }
    }
    return true;
  }
}

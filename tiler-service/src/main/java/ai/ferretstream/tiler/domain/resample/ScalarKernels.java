package ai.ferretstream.tiler.domain.resample;

import java.util.List;

/** Plain Java loops: the reference implementation, and the fallback without the Vector API. */
final class ScalarKernels implements Kernels {

  static final ScalarKernels INSTANCE = new ScalarKernels();

  private ScalarKernels() {}

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  public void horizontal(
      int[] src, int srcWidth, int rowFrom, int rowTo, List<HorizontalPass> targets) {
    for (HorizontalPass target : targets) {
      int from = Math.max(rowFrom, target.firstRow());
      int to = Math.min(rowTo, target.endRow());
      for (int y = from; y < to; y++) {
        horizontalRow(
            src, y * srcWidth, target, (y - target.firstRow()) * target.weights().outSize);
      }
    }
  }

  static void horizontalRow(int[] src, int rowStart, HorizontalPass target, int outStart) {
    Weights w = target.weights();
    int[] k = w.fixed;
    int[] out = target.out();
    for (int xx = 0; xx < w.outSize; xx++) {
      int p = rowStart + w.first(xx);
      int count = w.count(xx);
      int kb = xx * w.ksize;
      int r = Weights.HALF;
      int g = Weights.HALF;
      int b = Weights.HALF;
      for (int x = 0; x < count; x++) {
        int v = src[p + x];
        int weight = k[kb + x];
        r += (v >>> 16) * weight;
        g += ((v >> 8) & 0xff) * weight;
        b += (v & 0xff) * weight;
      }
      out[outStart + xx] = Weights.clip8(r) << 16 | Weights.clip8(g) << 8 | Weights.clip8(b);
    }
  }

  @Override
  public void vertical(
      int[] in, int width, int inFirstRow, Weights weights, int rowFrom, int rowTo, int[] out) {
    int[] k = weights.fixed;
    for (int yy = rowFrom; yy < rowTo; yy++) {
      int base = (weights.first(yy) - inFirstRow) * width;
      int count = weights.count(yy);
      int kb = yy * weights.ksize;
      int o = yy * width;
      for (int x = 0; x < width; x++) {
        out[o + x] = verticalPixel(in, base + x, width, count, k, kb);
      }
    }
  }

  /** One output pixel of the vertical pass: {@code count} taps down from {@code p}. */
  static int verticalPixel(int[] in, int p, int stride, int count, int[] k, int kb) {
    int r = Weights.HALF;
    int g = Weights.HALF;
    int b = Weights.HALF;
    for (int y = 0; y < count; y++, p += stride) {
      int v = in[p];
      int weight = k[kb + y];
      r += (v >>> 16) * weight;
      g += ((v >> 8) & 0xff) * weight;
      b += (v & 0xff) * weight;
    }
    return Weights.clip8(r) << 16 | Weights.clip8(g) << 8 | Weights.clip8(b);
  }
}

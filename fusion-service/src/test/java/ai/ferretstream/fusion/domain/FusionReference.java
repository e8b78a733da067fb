package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.tensor.Fp16;

/**
 * The test oracle of {@code H_a = H_l + upsample(H_g)}: the same formula as {@link FeatureMaps}, in
 * FP32, written as plain loops over every output element (no row caches, no kernels). The service
 * computes only the FP16 map; it must be this map rounded to FP16, element for element.
 */
final class FusionReference {

  private FusionReference() {}

  /** {@code H_a} in FP32, {@code [h, w, C]} row-major, from the {@link FeatureMaps} layout. */
  static float[] fusedMap(
      byte[] maps,
      int globalOffset,
      int gRows,
      int gCols,
      int mergedOffset,
      int h,
      int w,
      int channels,
      UpsampleMode mode) {
    AxisResampling ys = AxisResampling.of(mode, gRows, h);
    AxisResampling xs = AxisResampling.of(mode, gCols, w);
    boolean nearest = mode == UpsampleMode.NEAREST;
    float[] out = new float[h * w * channels];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int c = 0; c < channels; c++) {
          float up;
          if (nearest) {
            up = global(maps, globalOffset, gCols, channels, ys.lo()[y], xs.lo()[x], c);
          } else {
            float a = widened(maps, globalOffset, gCols, channels, xs, ys.lo()[y], x, c);
            float b = widened(maps, globalOffset, gCols, channels, xs, ys.hi()[y], x, c);
            up = ys.loWeight()[y] * a + ys.hiWeight()[y] * b;
          }
          int i = (y * w + x) * channels + c;
          out[i] = half(maps, mergedOffset + 2 * i) + up;
        }
      }
    }
    return out;
  }

  /** Global row {@code r} blended along the width at output column {@code x}. */
  private static float widened(
      byte[] maps, int offset, int gCols, int channels, AxisResampling xs, int r, int x, int c) {
    return xs.loWeight()[x] * global(maps, offset, gCols, channels, r, xs.lo()[x], c)
        + xs.hiWeight()[x] * global(maps, offset, gCols, channels, r, xs.hi()[x], c);
  }

  private static float global(
      byte[] maps, int offset, int gCols, int channels, int r, int col, int c) {
    return half(maps, offset + 2 * ((r * gCols + col) * channels + c));
  }

  private static float half(byte[] maps, int p) {
    return Fp16.toFloat((short) ((maps[p] & 0xff) | ((maps[p + 1] & 0xff) << 8)));
  }
}

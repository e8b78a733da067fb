package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.tensor.Fp16;

/**
 * Plain loops: FP16 decoded through a 65536-entry table built from {@link Fp16#toFloat}, encoded
 * with {@link Fp16#fromFloat} (round to nearest even), as {@code TensorCodec} does.
 */
final class ScalarFusionKernels implements FusionKernels {

  static final ScalarFusionKernels INSTANCE = new ScalarFusionKernels();

  private ScalarFusionKernels() {}

  /** Every FP16 bit pattern's float value (256 KiB, built on first use). */
  private static final class Table {
    static final float[] HALF_TO_FLOAT = build();

    private static float[] build() {
      float[] t = new float[1 << 16];
      for (int h = 0; h < t.length; h++) {
        t[h] = Fp16.toFloat((short) h);
      }
      return t;
    }
  }

  static float half(byte[] src, int p) {
    return Table.HALF_TO_FLOAT[(src[p] & 0xff) | ((src[p + 1] & 0xff) << 8)];
  }

  static void putHalf(float v, byte[] dst, int p) {
    short h = Fp16.fromFloat(v);
    dst[p] = (byte) h;
    dst[p + 1] = (byte) (h >>> 8);
  }

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  public void decode(byte[] src, int srcByte, float[] dst, int dstOff, int n) {
    for (int i = 0, p = srcByte; i < n; i++, p += 2) {
      dst[dstOff + i] = half(src, p);
    }
  }

  @Override
  public void lerp(
      float[] g, int aOff, int bOff, float w0, float w1, float[] out, int outOff, int n) {
    for (int i = 0; i < n; i++) {
      out[outOff + i] = w0 * g[aOff + i] + w1 * g[bOff + i];
    }
  }

  @Override
  public void addFp16(
      byte[] src, int srcByte, float[] up, int upOff, byte[] dst, int dstByte, int n) {
    for (int i = 0; i < n; i++) {
      putHalf(half(src, srcByte + 2 * i) + up[upOff + i], dst, dstByte + 2 * i);
    }
  }

  @Override
  public void blendAddFp16(
      byte[] src,
      int srcByte,
      float[] a,
      float[] b,
      float w0,
      float w1,
      byte[] dst,
      int dstByte,
      int n) {
    for (int i = 0; i < n; i++) {
      float up = w0 * a[i] + w1 * b[i];
      putHalf(half(src, srcByte + 2 * i) + up, dst, dstByte + 2 * i);
    }
  }
}

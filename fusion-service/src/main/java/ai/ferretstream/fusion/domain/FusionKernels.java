package ai.ferretstream.fusion.domain;

/**
 * The element loops of {@code H_a = H_l + upsample(H_g)} on FP16 little-endian bytes, through FP32
 * rows of the upsampled global map. Every implementation does the same IEEE operations in the same
 * order (FP16 decoding is exact, encoding rounds to nearest even, no fused multiply-add), so all
 * give identical bits.
 */
interface FusionKernels {

  /** Short name for logs and benchmarks: {@code scalar} or {@code vector-<bits>}. */
  String name();

  /** {@code dst[dstOff + i] = fp16(src element i from byte srcByte)}, exact. */
  void decode(byte[] src, int srcByte, float[] dst, int dstOff, int n);

  /** {@code out[outOff + i] = w0 * g[aOff + i] + w1 * g[bOff + i]}. */
  void lerp(float[] g, int aOff, int bOff, float w0, float w1, float[] out, int outOff, int n);

  /** FP16 {@code dst[i] = round(decode(src[i]) + up[upOff + i])}. */
  void addFp16(byte[] src, int srcByte, float[] up, int upOff, byte[] dst, int dstByte, int n);

  /** FP16 {@code dst[i] = round(decode(src[i]) + (w0 * a[i] + w1 * b[i]))}. */
  void blendAddFp16(
      byte[] src,
      int srcByte,
      float[] a,
      float[] b,
      float w0,
      float w1,
      byte[] dst,
      int dstByte,
      int n);
}

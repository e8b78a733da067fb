package ai.ferretstream.fusion.domain;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The loops on the JDK Vector API ({@code jdk.incubator.vector}); loaded reflectively by {@link
 * FeatureMaps} only when the module is present, and refused below 256-bit vectors (there the
 * short-to-int conversions are not compiled to SIMD code and run slower than the scalar loops).
 *
 * <p>{@code L} FP16 values are loaded as shorts and widened to {@code L} int lanes; the conversions
 * are branch-free bit arithmetic that gives exactly what {@link ai.ferretstream.proto.tensor.Fp16}
 * gives:
 *
 * <ul>
 *   <li>decode: {@code (h & 0x7fff) << 13} read as a float and multiplied by {@code 2^112} (exact
 *       for normal and subnormal halves), infinity and NaN re-based to the float exponent, the sign
 *       put back;
 *   <li>encode (round to nearest even): normal results {@code (|x| - (112 << 23) + 0xfff + lsb) >>>
 *       13}, capped at infinity; subnormal results by the float addition {@code |x| + 0.5f}, which
 *       rounds at the FP16 subnormal step; NaN keeps its top payload bits and is made quiet.
 * </ul>
 *
 * Arithmetic on the floats is the scalar code's, operation for operation (no fused multiply-add),
 * and the elements past the last full vector go through the scalar code, so results are identical
 * to {@link ScalarFusionKernels} bit for bit.
 */
final class VectorFusionKernels implements FusionKernels {

  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS = INTS.withLanes(float.class);
  private static final VectorSpecies<Short> SHORTS =
      VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.vectorBitSize() / 2));
  private static final int L = INTS.length();

  /** {@code 2^112}: moves a half's exponent field to a float's. */
  private static final float DECODE_SCALE = 0x1p112f;

  /** {@code 0.5f}: added to a value below the smallest normal half, it rounds at 2^-24. */
  private static final float SUBNORMAL_MAGIC = 0.5f;

  private static final int SUBNORMAL_MAGIC_BITS = Float.floatToRawIntBits(SUBNORMAL_MAGIC);

  VectorFusionKernels() {
    if (INTS.vectorBitSize() < 256) {
      throw new IllegalStateException(
          INTS.vectorBitSize() + "-bit vectors: the scalar loops are faster");
    }
  }

  @Override
  public String name() {
    return "vector-" + INTS.vectorBitSize();
  }

  private static IntVector loadHalves(byte[] src, int p) {
    return ((IntVector)
            ShortVector.fromByteArray(SHORTS, src, p, ByteOrder.LITTLE_ENDIAN).castShape(INTS, 0))
        .and(0xffff);
  }

  private static void storeHalves(IntVector h, byte[] dst, int p) {
    ((ShortVector) h.castShape(SHORTS, 0)).intoByteArray(dst, p, ByteOrder.LITTLE_ENDIAN);
  }

  /** Half-precision bits (in the low 16 bits of each lane) to floats. */
  static FloatVector decode(IntVector h) {
    IntVector magnitude = h.and(0x7fff);
    IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
    IntVector bits = shifted.reinterpretAsFloats().mul(DECODE_SCALE).reinterpretAsInts();
    VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
    bits = bits.blend(shifted.or(0x7f800000), special);
    IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
    return bits.or(sign).reinterpretAsFloats();
  }

  /** Floats to half-precision bits (low 16 bits of each lane), rounding to nearest even. */
  static IntVector encode(FloatVector f) {
    IntVector bits = f.reinterpretAsInts();
    IntVector sign = bits.lanewise(VectorOperators.LSHR, 16).and(0x8000);
    IntVector abs = bits.and(0x7fffffff);
    IntVector lsb = abs.lanewise(VectorOperators.LSHR, 13).and(1);
    IntVector normal =
        abs.add(0xfff - (112 << 23)).add(lsb).lanewise(VectorOperators.LSHR, 13).min(0x7c00);
    IntVector subnormal =
        abs.reinterpretAsFloats()
            .add(SUBNORMAL_MAGIC)
            .reinterpretAsInts()
            .sub(SUBNORMAL_MAGIC_BITS);
    IntVector nan = abs.lanewise(VectorOperators.LSHR, 13).and(0x3ff).or(0x7e00);
    IntVector h = normal.blend(subnormal, abs.compare(VectorOperators.LT, 0x38800000));
    h = h.blend(nan, abs.compare(VectorOperators.GT, 0x7f800000));
    return h.or(sign);
  }

  @Override
  public void decode(byte[] src, int srcByte, float[] dst, int dstOff, int n) {
    int i = 0;
    for (int end = n - L; i <= end; i += L) {
      decode(loadHalves(src, srcByte + 2 * i)).intoArray(dst, dstOff + i);
    }
    ScalarFusionKernels.INSTANCE.decode(src, srcByte + 2 * i, dst, dstOff + i, n - i);
  }

  @Override
  public void lerp(
      float[] g, int aOff, int bOff, float w0, float w1, float[] out, int outOff, int n) {
    int i = 0;
    for (int end = n - L; i <= end; i += L) {
      FloatVector a = FloatVector.fromArray(FLOATS, g, aOff + i);
      FloatVector b = FloatVector.fromArray(FLOATS, g, bOff + i);
      a.mul(w0).add(b.mul(w1)).intoArray(out, outOff + i);
    }
    ScalarFusionKernels.INSTANCE.lerp(g, aOff + i, bOff + i, w0, w1, out, outOff + i, n - i);
  }

  @Override
  public void addFp16(
      byte[] src, int srcByte, float[] up, int upOff, byte[] dst, int dstByte, int n) {
    int i = 0;
    for (int end = n - L; i <= end; i += L) {
      FloatVector v =
          decode(loadHalves(src, srcByte + 2 * i))
              .add(FloatVector.fromArray(FLOATS, up, upOff + i));
      storeHalves(encode(v), dst, dstByte + 2 * i);
    }
    ScalarFusionKernels.INSTANCE.addFp16(
        src, srcByte + 2 * i, up, upOff + i, dst, dstByte + 2 * i, n - i);
  }

  private static FloatVector blend(float[] a, float[] b, float w0, float w1, int i) {
    FloatVector va = FloatVector.fromArray(FLOATS, a, i);
    FloatVector vb = FloatVector.fromArray(FLOATS, b, i);
    return va.mul(w0).add(vb.mul(w1));
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
    int i = 0;
    for (int end = n - L; i <= end; i += L) {
      FloatVector v = decode(loadHalves(src, srcByte + 2 * i)).add(blend(a, b, w0, w1, i));
      storeHalves(encode(v), dst, dstByte + 2 * i);
    }
    for (; i < n; i++) {
      float up = w0 * a[i] + w1 * b[i];
      ScalarFusionKernels.putHalf(
          ScalarFusionKernels.half(src, srcByte + 2 * i) + up, dst, dstByte + 2 * i);
    }
  }
}

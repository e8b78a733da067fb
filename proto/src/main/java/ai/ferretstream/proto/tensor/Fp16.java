package ai.ferretstream.proto.tensor;

/**
 * IEEE 754 binary16 ⇄ binary32 conversion (Java 17 has no {@code Float.float16ToFloat}). Rounds to
 * nearest, ties to even; keeps subnormals, signed zeros, infinities and NaN (a NaN stays a quiet
 * NaN with the top payload bits kept).
 */
public final class Fp16 {

  private Fp16() {}

  /** The float value of the half-precision bits {@code h}. Exact. */
  public static float toFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      // infinity or NaN: keep the payload in the top mantissa bits
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      // subnormal: mant * 2^-24, exact in float
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** The half-precision bits nearest to {@code f} (ties to even); overflow gives infinity. */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) {
      if (mant == 0) {
        return (short) (sign | 0x7c00);
      }
      int payload = mant >>> 13;
      return (short) (sign | 0x7c00 | 0x200 | payload); // quiet NaN, payload kept where it fits
    }
    int e = exp - 127 + 15; // rebiased exponent
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      // subnormal half (or zero): shift the full significand right, rounding to nearest even
      if (e < -10) {
        return (short) sign; // below half the smallest subnormal: rounds to zero
      }
      int significand = mant | 0x800000; // implicit leading one
      int shift = 14 - e; // 1 - e + 13
      int half = significand >>> shift;
      int rem = significand & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (half & 1) == 1)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
      half++; // may carry into the exponent, up to infinity: that is the correct rounding
    }
    return (short) (sign | half);
  }
}

package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.tensor.TensorCodec;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vector kernels against the scalar ones (and both against {@link Fp16}): the same bits for
 * every FP16 value decoded, for floats around every FP16 rounding boundary encoded, and for whole
 * fused maps. Skipped when the Vector API is not usable here (the tests run with {@code
 * --add-modules jdk.incubator.vector}, so on x86-64 with AVX2 it is).
 */
class FusionKernelsTest {

  private final FusionKernels scalar = ScalarFusionKernels.INSTANCE;
  private FusionKernels vector;

  @BeforeEach
  void vectorKernels() {
    vector = FeatureMaps.kernelsFor(true);
    // the tests run with --add-modules jdk.incubator.vector on x86-64 with AVX2 or better
    assertThat(vector.name()).as("Vector API usable on this JVM and CPU").startsWith("vector-");
  }

  @Test
  void defaultKernelsAreTheVectorOnesWhenTheModuleIsPresent() {
    assertThat(FeatureMaps.vectorApiAvailable()).isTrue();
    assertThat(FeatureMaps.kernels()).isEqualTo(vector.name());
    assertThat(FeatureMaps.kernelsName(false)).isEqualTo("scalar");
  }

  @Test
  void everyHalfDecodesToTheSameFloatBits() {
    byte[] halves = new byte[2 << 16];
    for (int h = 0; h < 1 << 16; h++) {
      halves[2 * h] = (byte) h;
      halves[2 * h + 1] = (byte) (h >>> 8);
    }
    float[] v = new float[1 << 16];
    float[] s = new float[1 << 16];
    vector.decode(halves, 0, v, 0, v.length);
    scalar.decode(halves, 0, s, 0, s.length);
    for (int h = 0; h < 1 << 16; h++) {
      int expected = Float.floatToRawIntBits(Fp16.toFloat((short) h));
      assertThat(Float.floatToRawIntBits(v[h])).as("vector, half 0x%04x", h).isEqualTo(expected);
      assertThat(Float.floatToRawIntBits(s[h])).as("scalar, half 0x%04x", h).isEqualTo(expected);
    }
  }

  @Test
  void floatsAroundEveryRoundingBoundaryEncodeToTheSameHalf() {
    // each non-negative finite half's value, the midpoint to the next one, and one float ulp
    // either side of both, with both signs; then specials and a strided sweep of all bit patterns
    int perHalf = 6;
    float[] values = new float[0x7c00 * perHalf * 2 + 16 + (1 << 20)];
    int n = 0;
    for (int h = 0; h < 0x7c00; h++) {
      float lo = Fp16.toFloat((short) h);
      float hi = h + 1 < 0x7c00 ? Fp16.toFloat((short) (h + 1)) : 65536f; // 65520 rounds up
      float mid = (float) (((double) lo + hi) / 2); // exact: halves have 11 significant bits
      float[] around = {
        lo, Math.nextDown(lo), Math.nextUp(lo), mid, Math.nextDown(mid), Math.nextUp(mid)
      };
      for (float f : around) {
        values[n++] = f;
        values[n++] = -f;
      }
    }
    float[] specials = {
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN,
      Float.intBitsToFloat(0x7f800001), // signalling NaN
      Float.intBitsToFloat(0xffc12345),
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      Float.MIN_NORMAL,
      0x1p-25f, // half the smallest subnormal half: a tie, rounds to 0
      Math.nextUp(0x1p-25f),
      65504f,
      65519.996f,
      65520f,
      -0f
    };
    for (float f : specials) {
      values[n++] = f;
    }
    long step = (1L << 32) / (1 << 20) + 1; // odd: visits every exponent and low mantissa bits
    for (long bits = 0; n < values.length; bits += step) {
      values[n++] = Float.intBitsToFloat((int) bits);
    }
    assertEncodesAlike(values);
  }

  /** Encodes {@code values} as {@code fp16(+0 + value)}: the vector, scalar and Fp16 halves. */
  private void assertEncodesAlike(float[] values) {
    int n = values.length;
    byte[] zeros = new byte[2 * n]; // FP16 +0: +0 + f is f, except -0 + +0 = +0 (both sides)
    byte[] v = new byte[2 * n];
    byte[] s = new byte[2 * n];
    vector.addFp16(zeros, 0, values, 0, v, 0, n);
    scalar.addFp16(zeros, 0, values, 0, s, 0, n);
    if (!Arrays.equals(v, s)) {
      for (int i = 0; i < n; i++) {
        assertThat(new byte[] {v[2 * i], v[2 * i + 1]})
            .as("float 0x%08x (%s)", Float.floatToRawIntBits(values[i]), values[i])
            .containsExactly(s[2 * i], s[2 * i + 1]);
      }
    }
    for (int i = 0; i < n; i += 97) {
      short expected = Fp16.fromFloat(0f + values[i]);
      assertThat((short) ((s[2 * i] & 0xff) | (s[2 * i + 1] << 8))).isEqualTo(expected);
    }
  }

  @ParameterizedTest(name = "{0}x{1} grid, C={2}, {3}")
  @CsvSource({
    "1, 1, 1024, NEAREST",
    "3, 2, 1024, NEAREST",
    "3, 2, 1024, BILINEAR",
    "2, 3, 64, BILINEAR",
    "6, 1, 40, NEAREST",
    "1, 5, 40, BILINEAR",
    "2, 2, 13, NEAREST",
    "2, 2, 13, BILINEAR",
    "1, 1, 7, BILINEAR"
  })
  void wholeMapsAreIdentical(int cols, int rows, int channels, UpsampleMode mode) {
    int p = 24;
    int h = rows * p;
    int w = cols * p;
    SplittableRandom random = new SplittableRandom(cols * 1000L + rows * 100L + channels);
    float[] values = new float[(p * p + h * w) * channels];
    for (int i = 0; i < values.length; i++) {
      double u = random.nextDouble();
      // mostly normal-sized values, some tiny (FP16 subnormal sums) and some near the FP16 limit
      values[i] =
          (float)
              (u < 0.01
                  ? random.nextDouble(-1e-6, 1e-6)
                  : u < 0.02 ? random.nextDouble(-65000, 65000) : random.nextGaussian() * 3);
    }
    byte[] maps = TensorCodec.floatsToFp16(values);
    int merged = p * p * channels * 2;
    byte[] v16 = FeatureMaps.fusedMapFp16(maps, 0, p, p, merged, h, w, channels, mode, null, true);
    byte[] s16 = FeatureMaps.fusedMapFp16(maps, 0, p, p, merged, h, w, channels, mode, null, false);
    assertThat(v16).as("FP16 map, vector vs scalar").isEqualTo(s16);
    float[] reference = FusionReference.fusedMap(maps, 0, p, p, merged, h, w, channels, mode);
    assertThat(TensorCodec.floatsToFp16(reference))
        .as("FP16 map = FP32 reference rounded")
        .isEqualTo(s16);
  }
}

package ai.ferretstream.proto.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fp16Test {

  @ParameterizedTest(name = "0x{0} decodes to {1}")
  @CsvSource({
    "0000, 0.0",
    "8000, -0.0",
    "3c00, 1.0",
    "bc00, -1.0",
    "4000, 2.0",
    "3555, 0.333251953125",
    "7bff, 65504.0",
    "fbff, -65504.0",
    "0400, 6.103515625E-5", // smallest normal
    "0001, 5.9604644775390625E-8", // smallest subnormal 2^-24
    "03ff, 6.097555160522461E-5", // largest subnormal
    "8001, -5.9604644775390625E-8",
  })
  void decodesKnownBitPatterns(String hex, double expected) {
    float value = Fp16.toFloat((short) Integer.parseInt(hex, 16));
    assertThat(value).isEqualTo((float) expected);
    assertThat(Float.floatToRawIntBits(value))
        .as("sign of zero kept")
        .isEqualTo(Float.floatToRawIntBits((float) expected));
  }

  @Test
  void decodesInfinitiesAndNaN() {
    assertThat(Fp16.toFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Fp16.toFloat((short) 0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(Fp16.toFloat((short) 0x7e00)).isNaN();
    assertThat(Fp16.toFloat((short) 0x7c01)).isNaN();
    assertThat(Fp16.toFloat((short) 0xfe00)).isNaN();
  }

  @ParameterizedTest(name = "{0} encodes to 0x{1}")
  @CsvSource({
    "0.0, 0000",
    "-0.0, 8000",
    "1.0, 3c00",
    "-2.0, c000",
    "65504.0, 7bff",
    "65520.0, 7c00", // halfway to the next binade rounds up to infinity
    "1.0E6, 7c00",
    "-1.0E6, fc00",
    "6.103515625E-5, 0400",
    "5.9604644775390625E-8, 0001",
    "2.9802322387695312E-8, 0000", // exactly half the smallest subnormal: ties to even (0)
    "8.940696716308594E-8, 0002", // 1.5 * 2^-24: ties to even (2)
    "1.0E-9, 0000",
    "1.00048828125, 3c00", // 1 + 2^-11: halfway, ties to even (down)
    "1.00146484375, 3c02", // 1 + 3*2^-11: halfway, ties to even (up)
    "0.1, 2e66",
  })
  void encodesWithRoundToNearestEven(double input, String hex) {
    assertThat(Fp16.fromFloat((float) input) & 0xffff).isEqualTo(Integer.parseInt(hex, 16));
  }

  @Test
  void encodesInfinityAndNaN() {
    assertThat(Fp16.fromFloat(Float.POSITIVE_INFINITY) & 0xffff).isEqualTo(0x7c00);
    assertThat(Fp16.fromFloat(Float.NEGATIVE_INFINITY) & 0xffff).isEqualTo(0xfc00);
    short nan = Fp16.fromFloat(Float.NaN);
    assertThat(nan & 0x7c00).isEqualTo(0x7c00);
    assertThat(nan & 0x03ff).isNotZero();
  }

  @Test
  void everyHalfValueRoundTripsExactly() {
    for (int bits = 0; bits <= 0xffff; bits++) {
      float f = Fp16.toFloat((short) bits);
      short back = Fp16.fromFloat(f);
      if (Float.isNaN(f)) {
        assertThat(Float.isNaN(Fp16.toFloat(back))).isTrue();
      } else {
        assertThat(back & 0xffff).as("0x%04x", bits).isEqualTo(bits);
      }
    }
  }
}

package ai.ferretstream.tiler.domain.resample;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.RgbImage;
import ai.ferretstream.tiler.domain.TestImages;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BicubicResamplerTest {

  private static final BicubicResampler SCALAR =
      BicubicResampler.create(false, Parallelism.sequential());
  private static final BicubicResampler VECTOR =
      BicubicResampler.create(true, Parallelism.sequential());

  private static RgbImage resize(RgbImage image, int width, int height) {
    return VECTOR.resize(PackedImage.of(image), width, height).toRgb();
  }

  @Test
  void runsOnTheVectorApiInTests() {
    // surefire adds jdk.incubator.vector: the SIMD kernels must be the ones under test
    assertThat(VECTOR.kernels()).startsWith("vector-");
    assertThat(SCALAR.kernels()).isEqualTo("scalar");
  }

  static Stream<int[]> sizePairs() {
    return Stream.of(
        new int[] {1, 1, 336, 336},
        new int[] {2, 3, 1, 1},
        new int[] {37, 23, 336, 336},
        new int[] {640, 480, 672, 672},
        new int[] {1920, 1080, 1008, 672},
        new int[] {1921, 17, 336, 336},
        new int[] {17, 1921, 336, 2016},
        new int[] {100, 100, 100, 37},
        new int[] {100, 100, 41, 100},
        new int[] {333, 251, 1008, 336});
  }

  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.MethodSource("sizePairs")
  void vectorKernelsGiveTheScalarBytesExactly(int[] sizes) {
    PackedImage image = noise(sizes[0], sizes[1], sizes[0] * 31 + sizes[1]);

    PackedImage scalar = SCALAR.resize(image, sizes[2], sizes[3]);
    PackedImage vector = VECTOR.resize(image, sizes[2], sizes[3]);

    assertThat(vector.pixels()).isEqualTo(scalar.pixels());
  }

  @Test
  void resizingToSeveralSizesAtOnceEqualsResizingOneByOne() {
    PackedImage image = noise(1000, 700, 5);
    try (Parallelism threads = Parallelism.of(2)) {
      BicubicResampler parallel = BicubicResampler.create(true, threads);
      List<BicubicResampler.Size> sizes =
          List.of(
              new BicubicResampler.Size(336, 336),
              new BicubicResampler.Size(1008, 672),
              new BicubicResampler.Size(1000, 300),
              new BicubicResampler.Size(200, 700));

      List<PackedImage> together = parallel.resizeAll(image, sizes);

      for (int i = 0; i < sizes.size(); i++) {
        PackedImage alone = SCALAR.resize(image, sizes.get(i).width(), sizes.get(i).height());
        assertThat(together.get(i).pixels()).as("size %s", sizes.get(i)).isEqualTo(alone.pixels());
      }
    }
  }

  private static PackedImage noise(int width, int height, long seed) {
    Random random = new Random(seed);
    int[] pixels = new int[width * height];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = random.nextInt(1 << 24);
    }
    return new PackedImage(width, height, pixels);
  }

  @Test
  void returnsTheSamePixelsWhenTheSizeDoesNotChange() {
    RgbImage image = TestImages.pattern(40, 30);

    PackedImage packed = PackedImage.of(image);

    assertThat(VECTOR.resize(packed, 40, 30)).isSameAs(packed);
    assertThat(packed.toRgb().pixels()).isEqualTo(TestImages.pattern(40, 30).pixels());
  }

  @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
  @CsvSource({"50,40,336,336", "640,480,336,336", "37,23,1008,672", "300,300,7,300"})
  void keepsASolidColourSolid(int width, int height, int outWidth, int outHeight) {
    RgbImage resized = resize(TestImages.solid(width, height, 12, 200, 255), outWidth, outHeight);

    for (int y = 0; y < outHeight; y++) {
      for (int x = 0; x < outWidth; x++) {
        assertThat(resized.sample(x, y, 0)).isEqualTo(12);
        assertThat(resized.sample(x, y, 1)).isEqualTo(200);
        assertThat(resized.sample(x, y, 2)).isEqualTo(255);
      }
    }
  }

  @Test
  void keepsTheHalvesOfATwoColourImageWhenDownscaling() {
    int width = 400;
    int height = 100;
    byte[] pixels = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int p = (y * width + x) * 3;
        pixels[p] = (byte) (x < width / 2 ? 255 : 0); // red left half
        pixels[p + 2] = (byte) (x < width / 2 ? 0 : 255); // blue right half
      }
    }

    RgbImage resized = resize(new RgbImage(width, height, pixels), 40, 10);

    for (int y = 0; y < 10; y++) {
      // columns whose filter window (support 2 x scale 10 = 20 source px) stays inside one half
      for (int x = 0; x < 18; x++) {
        assertThat(new int[] {resized.sample(x, y, 0), resized.sample(x, y, 2)})
            .containsExactly(255, 0);
      }
      for (int x = 22; x < 40; x++) {
        assertThat(new int[] {resized.sample(x, y, 0), resized.sample(x, y, 2)})
            .containsExactly(0, 255);
      }
      // the boundary columns blend, red fading into blue
      assertThat(resized.sample(19, y, 0)).isGreaterThan(resized.sample(20, y, 0));
      assertThat(resized.sample(19, y, 2)).isLessThan(resized.sample(20, y, 2));
    }
  }

  @Test
  void matchesAHandComputedDownscale() {
    // 4x1 -> 2x1: scale 2, support 4; output 0 centred at 1.0 sees inputs 0..3 at distances
    // -0.25, 0.25, 0.75, 1.25 (in filter units) with cubic weights 0.8671875, 0.8671875,
    // 0.2265625, -0.0703125 (sum 1.890625): (10*.8671875 + 20*.8671875 + 30*.2265625 - 40*.0703125)
    // / 1.890625 = 15.87 -> 16; output 1 mirrors it: 64.53125 / 1.890625 = 34.13 -> 34.
    byte[] pixels = {10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40};

    RgbImage resized = resize(new RgbImage(4, 1, pixels), 2, 1);

    assertThat(resized.pixels()).containsExactly(16, 16, 16, 34, 34, 34);
  }

  @Test
  void clampsOvershootToTheEightBitRange() {
    // a hard 0/255 edge upscaled: the cubic kernel's negative lobes overshoot on both sides
    byte[] pixels = {0, 0, 0, 0, 0, 0, (byte) 255, (byte) 255, (byte) 255, -1, -1, -1};

    RgbImage resized = resize(new RgbImage(4, 1, pixels), 16, 1);

    for (int x = 0; x < 16; x++) {
      assertThat(resized.sample(x, 0, 0)).isBetween(0, 255);
    }
    assertThat(resized.sample(0, 0, 0)).isZero();
    assertThat(resized.sample(15, 0, 0)).isEqualTo(255);
  }

  /** SHA-256 of Pillow 9.4 {@code Image.resize((w, h), Image.BICUBIC)} of the same pattern. */
  @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
  @CsvSource({
    "37,23,336,336,e127632459b57662a712fe6e360dc6e920a904bbe3e7346a047ee0d0333fb253",
    "201,151,33,71,5011a91670bbfffca07745828262127ee1900d3273a2a343af47920baa266321",
    "50,40,50,13,d4a42164501cdaadf23dc3e4b1834f0f8400e6c32a3b290405df470e9e6b79d7",
    "50,40,97,40,583485cdd90723248477d9a1e7e319e51a629b6f76e7acd9f43f05828ed7b88c",
    "640,480,672,672,2c415677f84651c2a12a204dab0f1593740d3711be19025d8789c78c08110a4e",
    "640,480,336,336,fb3f2daff5e35e5ac64c5c862cf3a4d8a442577a5735d7f2e4dc9a2064d399bf",
    "3000,500,2016,336,507d3d5ccbdef3357ff9ef4c5751d75c1ba8dfc10e1ed57021cb29b514d8e7f9",
    "7,5,3,2,c0e3d08197e4db522a8120f59b2de3c0510362d04ec747ff5ba276999c86a68a"
  })
  void matchesPillowBicubicByteForByte(
      int width, int height, int outWidth, int outHeight, String pillowSha256) {
    PackedImage pattern = PackedImage.of(TestImages.pattern(width, height));

    for (BicubicResampler resampler : List.of(SCALAR, VECTOR)) {
      RgbImage resized = resampler.resize(pattern, outWidth, outHeight).toRgb();
      assertThat(TestImages.sha256(resized.pixels()))
          .as(resampler.kernels())
          .isEqualTo(pillowSha256);
    }
  }
}

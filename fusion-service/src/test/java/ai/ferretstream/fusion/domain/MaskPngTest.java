package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.MaskPngScanner;
import ai.ferretstream.testsupport.MaskPngs;
import com.google.protobuf.ByteString;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

class MaskPngTest {

  private static final int W = 37;
  private static final int H = 23;

  /** An L: the left column band x < 8 plus the bottom band y >= 15, within [3, 30) x [2, 21). */
  private static final MaskPngs.Shape L =
      (x, y) -> x >= 3 && x < 30 && y >= 2 && y < 21 && (x < 8 || y >= 15);

  /** The mask holds exactly the pixels inside {@code shape}. */
  static void assertMask(RegionMask mask, int width, int height, MaskPngs.Shape shape) {
    long count = 0;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        boolean inside = shape.inside(x, y);
        assertThat(mask.contains(x, y)).as("(%d, %d)", x, y).isEqualTo(inside);
        count += inside ? 1 : 0;
      }
    }
    assertThat(mask.size()).isEqualTo(count);
  }

  private static void assertInvalid(Runnable call, String messagePart) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            PermanentFailure.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_region");
              assertThat(e.getMessage()).contains(messagePart);
            });
  }

  @Test
  void everyColourTypeGivesTheSameMask() {
    record Case(
        String name,
        BiFunction<Integer, Integer, BufferedImage> image,
        int colourType,
        int bitDepth) {}
    List<Case> cases =
        List.of(
            new Case("grey 8", (w, h) -> MaskPngs.grey(w, h, L), 0, 8),
            new Case("grey 16", (w, h) -> MaskPngs.grey16(w, h, L), 0, 16),
            new Case("grey 1", (w, h) -> MaskPngs.binary(w, h, L), 0, 1),
            new Case("palette", (w, h) -> MaskPngs.palette(w, h, L), 3, 8),
            new Case("rgb", (w, h) -> MaskPngs.rgb(w, h, L), 2, 8),
            new Case("rgba", (w, h) -> MaskPngs.rgba(w, h, L), 6, 8),
            new Case("grey alpha", (w, h) -> MaskPngs.greyAlpha(w, h, L), 4, 8));
    for (Case c : cases) {
      for (boolean interlaced : new boolean[] {false, true}) {
        ByteString png = MaskPngs.png(c.image().apply(W, H), interlaced);
        MaskPngScanner.Header header = MaskPngScanner.header(png);
        assertThat(header.colourType()).as(c.name()).isEqualTo(c.colourType());
        assertThat(header.bitDepth()).as(c.name()).isEqualTo(c.bitDepth());
        assertThat(header.interlace()).as(c.name()).isEqualTo(interlaced ? 1 : 0);
        assertMask(MaskPng.decode(png, W, H), W, H, L);
      }
    }
  }

  @Test
  void paletteMasksUseTheIndexNotItsColour() {
    // index 1 is black, index 0 white: the black pixels are the inside ones
    RegionMask mask = MaskPng.decode(MaskPngs.png(MaskPngs.palette(W, H, L)), W, H);
    assertThat(mask.contains(3, 2)).isTrue();
    assertThat(mask.contains(20, 5)).isFalse();
  }

  @Test
  void alphaIsIgnored() {
    // inside pixels are fully transparent, outside ones opaque
    assertMask(MaskPng.decode(MaskPngs.png(MaskPngs.rgba(W, H, L)), W, H), W, H, L);
  }

  @Test
  void decodingInStripsGivesTheSameMask() {
    for (boolean interlaced : new boolean[] {false, true}) {
      ByteString png = MaskPngs.png(MaskPngs.rgb(W, H, L), interlaced);
      RegionMask whole = MaskPng.decode(png, W, H);
      // a budget below one row still reads one row at a time; 3 rows leave a short last strip
      assertThat(MaskPng.decode(png, W, H, 1)).isEqualTo(whole);
      assertThat(MaskPng.decode(png, W, H, 3L * W * 4)).isEqualTo(whole);
      assertMask(MaskPng.decode(png, W, H, 1), W, H, L);
    }
  }

  @Test
  void aMaskOfAnotherSizeIsRefusedBeforeDecoding() {
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    assertInvalid(() -> MaskPng.decode(png, W + 1, H), "mask_png is 37x23 but the image is 38x23");
    assertInvalid(() -> MaskPng.decode(png, H, W), "mask_png is 37x23 but the image is 23x37");
    // a valid header before garbage: the size is refused, nothing is decoded
    ByteString headerOnly =
        png.substring(0, 33).concat(ByteString.copyFromUtf8("definitely not zlib data"));
    assertInvalid(() -> MaskPng.decode(headerOnly, 640, 480), "but the image is 640x480");
    // ... and with the right size, the garbage fails to decode
    assertInvalid(() -> MaskPng.decode(headerOnly, W, H), "could not be decoded");
  }

  @Test
  void nonPngBytesAreRefused() {
    assertInvalid(() -> MaskPng.decode(ByteString.EMPTY, W, H), "not a PNG");
    assertInvalid(() -> MaskPng.decode(ByteString.copyFromUtf8("png"), W, H), "not a PNG");
    byte[] random = new byte[4096];
    new SplittableRandom(1).nextBytes(random);
    assertInvalid(() -> MaskPng.decode(ByteString.copyFrom(random), W, H), "not a PNG");
    // a JPEG signature
    byte[] jpeg = new byte[64];
    jpeg[0] = (byte) 0xff;
    jpeg[1] = (byte) 0xd8;
    jpeg[2] = (byte) 0xff;
    assertInvalid(() -> MaskPng.decode(ByteString.copyFrom(jpeg), W, H), "not a PNG");
  }

  @Test
  void truncatedOrCorruptPngsAreRefused() {
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    assertInvalid(() -> MaskPng.decode(png.substring(0, png.size() / 2), W, H), "mask_png");
    byte[] badIhdr = png.toByteArray();
    badIhdr[25] = 5; // colour type 5 does not exist
    assertInvalid(() -> MaskPng.decode(ByteString.copyFrom(badIhdr), W, H), "invalid IHDR");
    byte[] noIhdr = png.toByteArray();
    noIhdr[12] = 'X';
    assertInvalid(() -> MaskPng.decode(ByteString.copyFrom(noIhdr), W, H), "no IHDR");
  }

  @Test
  void tooManyEncodedBytesAreRefusedBeforeAnythingElse() {
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    ByteString huge = png.concat(ByteString.copyFrom(new byte[MaskPngScanner.MAX_ENCODED_BYTES]));
    assertInvalid(() -> MaskPng.decode(huge, W, H), "at most 8388608");
  }

  @Test
  void anEmptyMaskIsRefused() {
    for (BufferedImage image :
        List.of(
            MaskPngs.grey(W, H, (x, y) -> false),
            MaskPngs.rgba(W, H, (x, y) -> false),
            MaskPngs.palette(W, H, (x, y) -> false))) {
      assertInvalid(() -> MaskPng.decode(MaskPngs.png(image), W, H), "no inside pixel");
    }
  }

  @Test
  void bitsIndexEveryPixelOnceInRowMajorOrder() {
    // random masks of several densities, across rank blocks of 512 pixels
    int width = 301;
    int height = 97;
    for (double density : new double[] {0.001, 0.3, 0.97}) {
      SplittableRandom random = new SplittableRandom(Double.doubleToLongBits(density));
      long[] words = new long[RegionMask.Bits.wordsFor(width, height)];
      List<int[]> expected = new ArrayList<>();
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          if (random.nextDouble() < density) {
            long p = (long) y * width + x;
            words[(int) (p >>> 6)] |= 1L << (p & 63);
            expected.add(new int[] {x, y});
          }
        }
      }
      RegionMask.Bits mask = RegionMask.Bits.of(width, height, words);
      assertThat(mask.size()).isEqualTo(expected.size());
      for (int i = 0; i < expected.size(); i++) {
        assertThat(new int[] {mask.x(i), mask.y(i)}).as("pixel %d", i).isEqualTo(expected.get(i));
      }
      assertThatThrownBy(() -> mask.x(mask.size())).isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> mask.y(-1)).isInstanceOf(IndexOutOfBoundsException.class);
    }
  }

  @Test
  void bitsRejectAnArrayOfTheWrongShape() {
    assertThatThrownBy(() -> RegionMask.Bits.of(10, 10, new long[1]))
        .isInstanceOf(IllegalArgumentException.class);
    // 100 pixels: bit 100 of the second word is past the last pixel
    assertThatThrownBy(() -> RegionMask.Bits.of(10, 10, new long[] {0, 1L << 40}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(RegionMask.Bits.of(10, 10, new long[] {0, 1L << 35}).contains(9, 9)).isTrue();
  }
}

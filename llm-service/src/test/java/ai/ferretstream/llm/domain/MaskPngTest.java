package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.MaskPngScanner;
import ai.ferretstream.testsupport.MaskPngs;
import com.google.protobuf.ByteString;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

class MaskPngTest {

  private static final int W = 37;
  private static final int H = 23;

  /** An L within [3, 30) x [2, 21): the column band x < 8 plus the bottom band y >= 15. */
  private static final MaskPngs.Shape L =
      (x, y) -> x >= 3 && x < 30 && y >= 2 && y < 21 && (x < 8 || y >= 15);

  private static final MaskPng.Bounds L_BOUNDS = new MaskPng.Bounds(3, 2, 29, 20);

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
  void everyColourTypeGivesTheSameBounds() {
    List<BiFunction<Integer, Integer, BufferedImage>> images =
        List.of(
            (w, h) -> MaskPngs.grey(w, h, L),
            (w, h) -> MaskPngs.grey16(w, h, L),
            (w, h) -> MaskPngs.binary(w, h, L),
            (w, h) -> MaskPngs.palette(w, h, L),
            (w, h) -> MaskPngs.rgb(w, h, L),
            (w, h) -> MaskPngs.rgba(w, h, L),
            (w, h) -> MaskPngs.greyAlpha(w, h, L));
    int[] colourTypes = {0, 0, 0, 3, 2, 6, 4};
    for (int i = 0; i < images.size(); i++) {
      for (boolean interlaced : new boolean[] {false, true}) {
        ByteString png = MaskPngs.png(images.get(i).apply(W, H), interlaced);
        assertThat(MaskPngScanner.header(png).colourType()).isEqualTo(colourTypes[i]);
        assertThat(MaskPng.bounds(png, W, H)).as("case %d", i).isEqualTo(L_BOUNDS);
        assertThat(MaskPng.bounds(png, W, H, 1)).as("case %d, row strips", i).isEqualTo(L_BOUNDS);
      }
    }
  }

  @Test
  void boundsOfSeveralShapes() {
    assertThat(MaskPng.bounds(MaskPngs.png(MaskPngs.grey(W, H, (x, y) -> x == 36 && y == 0)), W, H))
        .isEqualTo(new MaskPng.Bounds(36, 0, 36, 0));
    assertThat(MaskPng.bounds(MaskPngs.png(MaskPngs.grey(W, H, (x, y) -> true)), W, H))
        .isEqualTo(new MaskPng.Bounds(0, 0, W - 1, H - 1));
    // two separate blobs: one box around both
    MaskPngs.Shape blobs = (x, y) -> (x == 4 && y == 20) || (x == 30 && y == 1);
    assertThat(MaskPng.bounds(MaskPngs.png(MaskPngs.binary(W, H, blobs)), W, H, 3L * W * 4))
        .isEqualTo(new MaskPng.Bounds(4, 1, 30, 20));
  }

  @Test
  void aMaskOfAnotherSizeIsRefusedBeforeDecoding() {
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    assertInvalid(() -> MaskPng.bounds(png, W, H + 1), "mask_png is 37x23 but the image is 37x24");
    ByteString headerOnly =
        png.substring(0, 33).concat(ByteString.copyFromUtf8("definitely not zlib data"));
    assertInvalid(() -> MaskPng.bounds(headerOnly, 640, 480), "but the image is 640x480");
    assertInvalid(() -> MaskPng.bounds(headerOnly, W, H), "could not be decoded");
  }

  @Test
  void nonPngBytesAreRefused() {
    assertInvalid(() -> MaskPng.bounds(ByteString.EMPTY, W, H), "not a PNG");
    assertInvalid(() -> MaskPng.bounds(ByteString.copyFromUtf8("png"), W, H), "not a PNG");
    byte[] random = new byte[4096];
    new SplittableRandom(1).nextBytes(random);
    assertInvalid(() -> MaskPng.bounds(ByteString.copyFrom(random), W, H), "not a PNG");
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    assertInvalid(() -> MaskPng.bounds(png.substring(0, png.size() / 2), W, H), "mask_png");
    byte[] badIhdr = png.toByteArray();
    badIhdr[24] = 3; // bit depth 3 does not exist
    assertInvalid(() -> MaskPng.bounds(ByteString.copyFrom(badIhdr), W, H), "invalid IHDR");
  }

  @Test
  void tooManyEncodedBytesAreRefused() {
    ByteString png = MaskPngs.png(MaskPngs.grey(W, H, L));
    ByteString huge = png.concat(ByteString.copyFrom(new byte[MaskPngScanner.MAX_ENCODED_BYTES]));
    assertInvalid(() -> MaskPng.bounds(huge, W, H), "at most 8388608");
  }

  @Test
  void anEmptyMaskIsRefused() {
    assertInvalid(
        () -> MaskPng.bounds(MaskPngs.png(MaskPngs.rgba(W, H, (x, y) -> false)), W, H),
        "no inside pixel");
  }
}

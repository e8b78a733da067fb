package ai.ferretstream.tiler.domain.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ai.ferretstream.tiler.domain.RgbImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

public class ImageDecoderTest {

  private final ImageDecoder decoder = new ImageDecoder(20_000_000, 40_000_000);

  @Test
  void refusesAHugePngFromItsHeaderWithoutDecodingIt() {
    byte[] png = pngHeaderOnly(60_000, 60_000);

    assertTimeoutPreemptively(
        Duration.ofSeconds(2),
        () ->
            assertFailure(() -> decoder.decode(png), ImageRefused.TOO_LARGE)
                .hasMessageContaining("60000x60000")
                .hasMessageContaining("40000000"));
  }

  @Test
  void refusesTooManyEncodedBytesBeforeLookingAtThem() {
    ImageDecoder small = new ImageDecoder(1000, 40_000_000);

    assertFailure(() -> small.decode(new byte[1001]), ImageRefused.TOO_LARGE)
        .hasMessageContaining("1001 bytes");
    assertFailure(() -> small.checkEncodedSize(5000), ImageRefused.TOO_LARGE);
  }

  @Test
  void refusesAnEmptyImage() {
    assertFailure(() -> decoder.decode(new byte[0]), ImageRefused.INVALID)
        .hasMessageContaining("empty");
  }

  @Test
  void refusesBytesOfAnUnknownFormat() {
    byte[] text = "this is not an image, just some text".getBytes(StandardCharsets.UTF_8);

    assertFailure(() -> decoder.decode(text), ImageRefused.INVALID)
        .hasMessageContaining("unrecognised format");
  }

  @Test
  void refusesACorruptPng() {
    byte[] png = encode(rgbImage(64, 48), "png");
    // keep the signature and header, scramble the compressed pixel data
    for (int i = 60; i < png.length - 12; i++) {
      png[i] = (byte) (png[i] * 31 + 7);
    }

    assertFailure(() -> decoder.decode(png), ImageRefused.INVALID);
  }

  @Test
  void refusesATruncatedJpeg() {
    byte[] jpeg = encode(rgbImage(256, 256), "jpeg");
    byte[] truncated = Arrays.copyOf(jpeg, jpeg.length / 2);

    assertFailure(() -> decoder.decode(truncated), ImageRefused.INVALID);
  }

  @Test
  void decodesPngPixelsExactly() {
    BufferedImage image = rgbImage(5, 3);

    RgbImage decoded = rgb(encode(image, "png"));

    assertThat(decoded.width()).isEqualTo(5);
    assertThat(decoded.height()).isEqualTo(3);
    for (int y = 0; y < 3; y++) {
      for (int x = 0; x < 5; x++) {
        int rgb = image.getRGB(x, y);
        assertThat(decoded.sample(x, y, 0)).isEqualTo((rgb >> 16) & 0xff);
        assertThat(decoded.sample(x, y, 1)).isEqualTo((rgb >> 8) & 0xff);
        assertThat(decoded.sample(x, y, 2)).isEqualTo(rgb & 0xff);
      }
    }
  }

  @Test
  void dropsAlphaWithoutCompositing() {
    BufferedImage image = new BufferedImage(2, 1, BufferedImage.TYPE_4BYTE_ABGR);
    image.setRGB(0, 0, 0x00_10_20_30); // fully transparent, colour kept
    image.setRGB(1, 0, 0x80_C0_B0_A0); // half transparent

    RgbImage decoded = rgb(encode(image, "png"));

    assertThat(decoded.pixels()).containsExactly(0x10, 0x20, 0x30, 0xC0, 0xB0, 0xA0);
  }

  @Test
  void replicatesGreyWithoutAGammaChange() {
    BufferedImage image = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
    image.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 100, 250});

    RgbImage decoded = rgb(encode(image, "png"));

    assertThat(decoded.pixels()).containsExactly(0, 0, 0, 100, 100, 100, 250, 250, 250);
  }

  @Test
  void expandsThePaletteOfTheFirstGifFrame() {
    byte[] reds = {(byte) 255, 0, 7};
    byte[] greens = {0, (byte) 255, 8};
    byte[] blues = {0, 0, 9};
    BufferedImage image =
        new BufferedImage(
            3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 3, reds, greens, blues));
    image.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {2, 0, 1});

    RgbImage decoded = rgb(encode(image, "gif"));

    assertThat(decoded.pixels()).containsExactly(7, 8, 9, 255, 0, 0, 0, 255, 0);
  }

  @Test
  void decodesBmp() {
    BufferedImage image = rgbImage(4, 4);

    RgbImage decoded = rgb(encode(image, "bmp"));

    assertThat(decoded.sample(3, 2, 0)).isEqualTo((image.getRGB(3, 2) >> 16) & 0xff);
    assertThat(decoded.sample(3, 2, 2)).isEqualTo(image.getRGB(3, 2) & 0xff);
  }

  @Test
  void decodesJpegCloseToItsSource() {
    BufferedImage image = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(new Color(200, 30, 40));
    g.fillRect(0, 0, 64, 64);
    g.dispose();

    RgbImage decoded = rgb(encode(image, "jpeg"));

    assertThat(decoded.width()).isEqualTo(64);
    assertThat(decoded.sample(32, 32, 0)).isBetween(190, 210);
    assertThat(decoded.sample(32, 32, 1)).isBetween(20, 40);
    assertThat(decoded.sample(32, 32, 2)).isBetween(30, 50);
  }

  private RgbImage rgb(byte[] encoded) {
    return decoder.decode(encoded).toRgb();
  }

  private static org.assertj.core.api.AbstractThrowableAssert<?, ?> assertFailure(
      ThrowingCallable call, String code) {
    return assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            ImageRefused.class, failure -> assertThat(failure.code()).isEqualTo(code));
  }

  private static void assertRefused(ThrowingCallable call, Reason reason) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            ImageRefused.class, failure -> assertThat(failure.reason()).isEqualTo(reason));
  }

  public static BufferedImage rgbImage(int width, int height) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, (x * 40 % 256) << 16 | (y * 70 % 256) << 8 | ((x + y) * 25 % 256));
      }
    }
    return image;
  }

  public static byte[] encode(BufferedImage image, String format) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(image, format, out)) {
        throw new IllegalStateException("no ImageIO writer for " + format);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** A PNG signature and a valid IHDR chunk claiming the given size, then IEND: no pixel data. */
  static byte[] pngHeaderOnly(int width, int height) {
    ByteBuffer buf = ByteBuffer.allocate(8 + 25 + 12);
    buf.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteBuffer ihdr = ByteBuffer.allocate(13);
    ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0);
    ihdr.put((byte) 0).put((byte) 0);
    chunk(buf, "IHDR", ihdr.array());
    chunk(buf, "IEND", new byte[0]);
    return buf.array();
  }

  private static void chunk(ByteBuffer buf, String type, byte[] data) {
    byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    buf.putInt(data.length).put(typeBytes).put(data).putInt((int) crc.getValue());
  }
}

package ai.ferretstream.tiler.domain.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Input a client may send to hurt the tiler: decompression bombs (refused from the header with
 * bounded memory), truncated, corrupt, empty, wrong-type and tiny images. Each gives an {@link
 * ImageRefused} with a specific reason, never another exception.
 */
public class HostileImageTest {

  /** Allocation allowed for refusing a bomb: far below the gigabytes its pixels would take. */
  private static final long BOMB_ALLOCATION_LIMIT = 4L << 20;

  private final ImageDecoder decoder = new ImageDecoder(20_000_000, 40_000_000);

  @Test
  void refusesAPngBombWithRealCompressedDataFromItsHeader() {
    // 60000x60000 grey: the IDAT holds the first rows of zeros, compressed to a few KB
    byte[] bomb = pngBomb(60_000, 60_000);
    assertThat(bomb.length).isLessThan(20_000);

    assertBomb(bomb, "60000x60000");
  }

  @Test
  void refusesAJpegClaiming60000x60000() {
    assertBomb(jpegWithSize(60_000, 60_000), "60000x60000");
  }

  @Test
  void refusesAGifWhoseLogicalScreenIsHuge() {
    assertBomb(gif(65_000, 65_000, 1, 1), "65000x65000");
  }

  @Test
  void refusesAGifWhoseFirstFrameIsHuge() {
    assertBomb(gif(1, 1, 65_000, 65_000), "65000x65000");
  }

  @Test
  void refusesABmpClaiming60000x60000() {
    assertBomb(bmpHeader(60_000, 60_000), "60000x60000");
  }

  @Test
  void refusesAWebpClaiming16384x16384() {
    assertBomb(webpVp8x(16_384, 16_384), "16384x16384");
  }

  @Test
  void refusesEmptyInput() {
    assertRefused(new byte[0], Reason.EMPTY);
  }

  @Test
  void namesFormatsItRecognisesButDoesNotRead() {
    byte[] pdf = "%PDF-1.7\n1 0 obj\n".getBytes(StandardCharsets.US_ASCII);
    byte[] tiff = {'I', 'I', '*', 0, 8, 0, 0, 0};

    assertThatThrownBy(() -> decoder.decode(pdf))
        .isInstanceOf(ImageRefused.class)
        .hasMessageContaining("PDF");
    assertThatThrownBy(() -> decoder.decode(tiff))
        .isInstanceOf(ImageRefused.class)
        .hasMessageContaining("TIFF");
    assertRefused(pdf, Reason.UNSUPPORTED_FORMAT);
    assertRefused(
        "GIF but not really".getBytes(StandardCharsets.US_ASCII), Reason.UNSUPPORTED_FORMAT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpeg", "gif", "bmp"})
  void refusesTruncatedImages(String format) {
    byte[] whole = ImageDecoderTest.encode(ImageDecoderTest.rgbImage(200, 150), format);
    byte[] truncated = Arrays.copyOf(whole, whole.length * 2 / 3);

    assertThatThrownBy(() -> decoder.decode(truncated))
        .isInstanceOfSatisfying(
            ImageRefused.class, e -> assertThat(e.reason()).isIn(Reason.TRUNCATED, Reason.CORRUPT));
  }

  @Test
  void refusesAPngCutInsideItsHeader() {
    byte[] whole = ImageDecoderTest.encode(ImageDecoderTest.rgbImage(20, 20), "png");

    assertThatThrownBy(() -> decoder.decode(Arrays.copyOf(whole, 20)))
        .isInstanceOf(ImageRefused.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpeg", "gif", "bmp"})
  void decodesOnePixelImages(String format) {
    BufferedImage one = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
    one.setRGB(0, 0, 0x336699);

    PackedImage decoded = decoder.decode(ImageDecoderTest.encode(one, format));

    assertThat(decoded.width()).isEqualTo(1);
    assertThat(decoded.height()).isEqualTo(1);
  }

  /** Random byte flips and cuts of valid images: each decode succeeds or is refused cleanly. */
  @ParameterizedTest
  @ValueSource(strings = {"png", "jpeg", "gif", "bmp"})
  void survivesMutatedImages(String format) {
    byte[] valid = ImageDecoderTest.encode(ImageDecoderTest.rgbImage(48, 32), format);
    Random random = new Random(format.hashCode());
    int refused = 0;
    for (int i = 0; i < 150; i++) {
      byte[] mutated = valid.clone();
      int flips = 1 + random.nextInt(8);
      for (int f = 0; f < flips; f++) {
        mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
      }
      if (random.nextBoolean()) {
        mutated = Arrays.copyOf(mutated, 1 + random.nextInt(mutated.length));
      }
      try {
        PackedImage image = decoder.decode(mutated);
        assertThat((long) image.width() * image.height()).isPositive();
      } catch (ImageRefused expected) {
        refused++;
      }
    }
    assertThat(refused).as("some mutations must break the image").isPositive();
  }

  private void assertBomb(byte[] bomb, String size) {
    long before = allocatedBytes();
    assertThatThrownBy(() -> decoder.decode(bomb))
        .isInstanceOfSatisfying(
            ImageRefused.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
              assertThat(e.code()).isEqualTo(ImageRefused.TOO_LARGE);
            })
        .hasMessageContaining(size);
    long allocated = allocatedBytes() - before;
    assertThat(allocated)
        .as("bytes allocated to refuse the bomb")
        .isLessThan(BOMB_ALLOCATION_LIMIT);
  }

  private void assertRefused(byte[] data, Reason reason) {
    assertThatThrownBy(() -> decoder.decode(data))
        .isInstanceOfSatisfying(ImageRefused.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
        .getCurrentThreadAllocatedBytes();
  }

  public static byte[] pngBomb(int width, int height) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteBuffer ihdr = ByteBuffer.allocate(13);
    ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 0).put((byte) 0);
    ihdr.put((byte) 0).put((byte) 0);
    pngChunk(out, "IHDR", ihdr.array());
    Deflater deflater = new Deflater(9);
    deflater.setInput(new byte[(width + 1) * 64]); // 64 rows of zeros
    deflater.finish();
    byte[] buffer = new byte[1 << 16];
    int n = deflater.deflate(buffer);
    deflater.end();
    pngChunk(out, "IDAT", Arrays.copyOf(buffer, n));
    pngChunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void pngChunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] name = type.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(name);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(name);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  /** SOI, a quantisation table, SOF0 with the given size, then EOI. */
  static byte[] jpegWithSize(int width, int height) {
    ByteBuffer b = ByteBuffer.allocate(2 + 69 + 19 + 2);
    b.put((byte) 0xFF).put((byte) 0xD8);
    b.put((byte) 0xFF).put((byte) 0xDB).putShort((short) 67).put((byte) 0);
    for (int i = 0; i < 64; i++) {
      b.put((byte) 1);
    }
    b.put((byte) 0xFF).put((byte) 0xC0).putShort((short) 17).put((byte) 8);
    b.putShort((short) height).putShort((short) width).put((byte) 3);
    for (int c = 1; c <= 3; c++) {
      b.put((byte) c).put((byte) 0x11).put((byte) 0);
    }
    b.put((byte) 0xFF).put((byte) 0xD9);
    return b.array();
  }

  /** A GIF89a with the given logical screen and one 2-colour frame of the given size, no data. */
  static byte[] gif(int screenWidth, int screenHeight, int frameWidth, int frameHeight) {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put("GIF89a".getBytes(StandardCharsets.US_ASCII));
    b.putShort((short) screenWidth).putShort((short) screenHeight);
    b.put((byte) 0x80).put((byte) 0).put((byte) 0); // global table of 2 colours
    b.put(new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
    b.put((byte) 0x2C).putShort((short) 0).putShort((short) 0);
    b.putShort((short) frameWidth).putShort((short) frameHeight).put((byte) 0);
    b.put((byte) 2).put((byte) 2).put((byte) 0x4C).put((byte) 0x01).put((byte) 0); // tiny LZW
    b.put((byte) 0x3B);
    return Arrays.copyOf(b.array(), b.position());
  }

  /** A BMP file and info header for a 24-bit image of the given size, no pixels. */
  static byte[] bmpHeader(int width, int height) {
    ByteBuffer b = ByteBuffer.allocate(54).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'B').put((byte) 'M').putInt(54).putInt(0).putInt(54);
    b.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 24);
    b.putInt(0).putInt(0).putInt(2835).putInt(2835).putInt(0).putInt(0);
    return b.array();
  }

  /** A RIFF/WEBP file with only a VP8X chunk giving the canvas size. */
  static byte[] webpVp8x(int width, int height) {
    ByteBuffer b = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(22);
    b.put("WEBP".getBytes(StandardCharsets.US_ASCII));
    b.put("VP8X".getBytes(StandardCharsets.US_ASCII)).putInt(10);
    b.putInt(0); // flags + reserved
    put24(b, width - 1);
    put24(b, height - 1);
    return b.array();
  }

  private static void put24(ByteBuffer b, int v) {
    b.put((byte) v).put((byte) (v >> 8)).put((byte) (v >> 16));
  }
}

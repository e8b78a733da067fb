package ai.ferretstream.proto.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageHeaderTest {

  private static byte[] encode(String format, int width, int height, int type) throws IOException {
    BufferedImage image = new BufferedImage(width, height, type);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(ImageIO.write(image, format, out)).isTrue();
    return out.toByteArray();
  }

  private static byte[] encode(String format, int width, int height) throws IOException {
    return encode(format, width, height, BufferedImage.TYPE_INT_RGB);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A TIFF structure with one IFD0 entry: orientation, SHORT, count 1. */
  private static byte[] tiff(int orientation, ByteOrder order) {
    ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4).order(order);
    tiff.put(bytes(order == ByteOrder.BIG_ENDIAN ? "MM" : "II")).putShort((short) 42).putInt(8);
    tiff.putShort((short) 1);
    tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation);
    tiff.putShort((short) 0).putInt(0);
    return tiff.array();
  }

  /** {@code jpeg} with {@code segment} (marker, length and payload) right after SOI. */
  private static byte[] withSegment(byte[] jpeg, int marker, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2); // SOI
    out.write(0xFF);
    out.write(marker);
    out.write((payload.length + 2) >> 8);
    out.write((payload.length + 2) & 0xff);
    out.writeBytes(payload);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /** A JPEG with an EXIF segment (big-endian TIFF) giving {@code orientation}. */
  private static byte[] jpegWithOrientation(int width, int height, int orientation)
      throws IOException {
    ByteArrayOutputStream exif = new ByteArrayOutputStream();
    exif.writeBytes(bytes("Exif\0\0"));
    exif.writeBytes(tiff(orientation, ByteOrder.BIG_ENDIAN));
    return withSegment(encode("jpg", width, height), 0xE1, exif.toByteArray());
  }

  /** {@code png} with an {@code eXIf} chunk (little-endian TIFF) after IHDR. */
  private static byte[] pngWithOrientation(byte[] png, int orientation) {
    byte[] tiff = tiff(orientation, ByteOrder.LITTLE_ENDIAN);
    ByteBuffer chunk = ByteBuffer.allocate(12 + tiff.length);
    chunk.putInt(tiff.length).put(bytes("eXIf")).put(tiff);
    CRC32 crc = new CRC32();
    crc.update(chunk.array(), 4, 4 + tiff.length);
    chunk.putInt((int) crc.getValue());
    int afterIhdr = 8 + 12 + 13;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, afterIhdr);
    out.writeBytes(chunk.array());
    out.write(png, afterIhdr, png.length - afterIhdr);
    return out.toByteArray();
  }

  private static byte[] webpVp8x(int width, int height) {
    ByteBuffer webp = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
    webp.put(bytes("RIFF")).putInt(22);
    webp.put(bytes("WEBPVP8X")).putInt(10);
    webp.putInt(0); // flags and reserved
    webp.put((byte) (width - 1)).put((byte) 0).put((byte) 0);
    webp.put((byte) (height - 1)).put((byte) 0).put((byte) 0);
    return webp.array();
  }

  @Test
  void recognisesEachFormatByItsSignature() throws IOException {
    assertThat(ImageFormat.sniff(encode("jpg", 2, 2))).isEqualTo(ImageFormat.JPEG);
    assertThat(ImageFormat.sniff(encode("png", 2, 2))).isEqualTo(ImageFormat.PNG);
    assertThat(ImageFormat.sniff(encode("gif", 2, 2))).isEqualTo(ImageFormat.GIF);
    assertThat(ImageFormat.sniff(encode("bmp", 2, 2))).isEqualTo(ImageFormat.BMP);
    assertThat(ImageFormat.sniff(webpVp8x(2, 2))).isEqualTo(ImageFormat.WEBP);
    assertThat(ImageFormat.sniff(bytes("BM short"))).isNull();
    assertThat(ImageFormat.sniff(new byte[0])).isNull();
  }

  @Test
  void namesFormatsItRecognisesButDoesNotRead() {
    assertThat(ImageFormat.describeOther(bytes("II*\0rest"))).isEqualTo("TIFF");
    assertThat(ImageFormat.describeOther(bytes("\0\0\0\u0018ftypheic"))).isEqualTo("HEIC/HEIF");
    assertThat(ImageFormat.describeOther(bytes("\0\0\0\u0018ftypavif"))).isEqualTo("AVIF");
    assertThat(ImageFormat.describeOther(bytes("%PDF-1.7"))).isEqualTo("PDF");
    assertThat(ImageFormat.describeOther(bytes("<svg xmlns"))).isEqualTo("SVG/XML");
    assertThat(ImageFormat.describeOther(bytes("plain text"))).isNull();
  }

  @Test
  void readsTheSizeOfEachFormatTheTilerReads() throws IOException {
    assertThat(ImageHeader.read(encode("png", 64, 48)))
        .isEqualTo(new ImageHeader(ImageFormat.PNG, 64, 48, 1, 0, -1));
    assertThat(ImageHeader.read(encode("jpg", 33, 21)))
        .isEqualTo(new ImageHeader(ImageFormat.JPEG, 33, 21, 1, 3, -1));
    assertThat(ImageHeader.read(encode("gif", 17, 9)))
        .isEqualTo(new ImageHeader(ImageFormat.GIF, 17, 9, 1, 0, -1));
    assertThat(ImageHeader.read(encode("bmp", 12, 7)))
        .isEqualTo(new ImageHeader(ImageFormat.BMP, 12, 7, 1, 0, -1));
  }

  @Test
  void readsAWebpCanvasSize() {
    assertThat(ImageHeader.read(webpVp8x(100, 50)))
        .isEqualTo(new ImageHeader(ImageFormat.WEBP, 100, 50, 1, 0, -1));
  }

  @Test
  void readsALosslessWebpSize() {
    ByteBuffer webp = ByteBuffer.allocate(25).order(ByteOrder.LITTLE_ENDIAN);
    webp.put(bytes("RIFF")).putInt(17).put(bytes("WEBPVP8L")).putInt(5).put((byte) 0x2f);
    webp.putInt((300 - 1) | (200 - 1) << 14);

    ImageHeader header = ImageHeader.read(webp.array());

    assertThat(header.width()).isEqualTo(300);
    assertThat(header.height()).isEqualTo(200);
  }

  @Test
  void readsAGifAsTheLargerOfItsScreenAndFirstFrame() {
    ByteBuffer gif = ByteBuffer.allocate(13 + 10).order(ByteOrder.LITTLE_ENDIAN);
    gif.put(bytes("GIF89a")).putShort((short) 10).putShort((short) 10).put(new byte[3]);
    gif.put((byte) 0x2C).putShort((short) 5).putShort((short) 2); // frame at (5, 2)
    gif.putShort((short) 20).putShort((short) 4).put((byte) 0); // 20 x 4

    ImageHeader header = ImageHeader.read(gif.array());

    assertThat(header.width()).isEqualTo(25);
    assertThat(header.height()).isEqualTo(10);
  }

  @Test
  void readsATopDownBmpHeightAsItsAbsoluteValue() throws IOException {
    byte[] bmp = encode("bmp", 12, 7);
    ByteBuffer.wrap(bmp).order(ByteOrder.LITTLE_ENDIAN).putInt(22, -7);

    assertThat(ImageHeader.read(bmp).height()).isEqualTo(7);
  }

  @Test
  void swapsWidthAndHeightWhenTheExifOrientationTurnsTheImage() throws IOException {
    ImageHeader six = ImageHeader.read(jpegWithOrientation(40, 30, 6));
    assertThat(six.orientation()).isEqualTo(6);
    assertThat(six.turned()).isTrue();
    assertThat(six.displayedWidth()).isEqualTo(30);
    assertThat(six.displayedHeight()).isEqualTo(40);
    ImageHeader eight = ImageHeader.read(jpegWithOrientation(40, 30, 8));
    assertThat(eight.displayedWidth()).isEqualTo(30);
    assertThat(eight.displayedHeight()).isEqualTo(40);
    ImageHeader three = ImageHeader.read(jpegWithOrientation(40, 30, 3));
    assertThat(three.orientation()).isEqualTo(3);
    assertThat(three.displayedWidth()).isEqualTo(40);
    assertThat(three.displayedHeight()).isEqualTo(30);
  }

  @Test
  void readsThePngOrientationFromItsExifChunk() throws IOException {
    ImageHeader header = ImageHeader.read(pngWithOrientation(encode("png", 40, 30), 5));

    assertThat(header.orientation()).isEqualTo(5);
    assertThat(header.displayedWidth()).isEqualTo(30);
    assertThat(header.displayedHeight()).isEqualTo(40);
  }

  @Test
  void readsTheJpegComponentsAndAdobeTransform() throws IOException {
    assertThat(ImageHeader.read(encode("jpg", 8, 8, BufferedImage.TYPE_BYTE_GRAY)).jpegComponents())
        .isEqualTo(1);
    byte[] adobe = new byte[12];
    System.arraycopy(bytes("Adobe"), 0, adobe, 0, 5);
    adobe[11] = 2; // YCCK

    ImageHeader header = ImageHeader.read(withSegment(encode("jpg", 8, 8), 0xEE, adobe));

    assertThat(header.adobeTransform()).isEqualTo(2);
    assertThat(header.jpegComponents()).isEqualTo(3);
  }

  @Test
  void hasNoSizeForBytesThatAreNoImage() {
    assertThat(ImageHeader.read(new byte[0])).isNull();
    assertThat(ImageHeader.read(bytes("not an image at all"))).isNull();
    ImageHeader cut = ImageHeader.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF});
    assertThat(cut.format()).isEqualTo(ImageFormat.JPEG);
    assertThat(cut.hasSize()).isFalse();
    assertThat(ImageHeader.read(bytes("GIF89a")).hasSize()).isFalse();
  }

  @Test
  void hasNoPngSizeWithoutAnIhdrChunkFirst() throws IOException {
    byte[] png = encode("png", 64, 48);
    System.arraycopy(bytes("IDAT"), 0, png, 12, 4);

    assertThat(ImageHeader.read(png).hasSize()).isFalse();
  }
}

package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.testsupport.TestImages;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageExtentTest {

  private static byte[] encode(String format, int width, int height) throws IOException {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(ImageIO.write(image, format, out)).isTrue();
    return out.toByteArray();
  }

  /** A JPEG with an EXIF segment (big-endian TIFF) giving {@code orientation}. */
  private static byte[] jpegWithOrientation(int width, int height, int orientation)
      throws IOException {
    byte[] jpeg = encode("jpg", width, height);
    ByteBuffer exif = ByteBuffer.allocate(2 + 2 + 6 + 8 + 2 + 12 + 4).order(ByteOrder.BIG_ENDIAN);
    exif.putShort((short) 0xFFE1).putShort((short) (exif.capacity() - 2));
    exif.put("Exif\0\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    exif.put((byte) 'M').put((byte) 'M').putShort((short) 42).putInt(8); // TIFF header
    exif.putShort((short) 1); // one IFD entry: orientation, SHORT, count 1
    exif.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation);
    exif.putShort((short) 0).putInt(0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2); // SOI
    out.write(exif.array());
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  @Test
  void readsTheSizeOfEachFormatTheTilerReads() throws IOException {
    assertThat(ImageExtent.of(TestImages.png(TestImages.plain(64, 48, Color.WHITE))))
        .isEqualTo(new ImageExtent(64, 48));
    assertThat(ImageExtent.of(encode("jpg", 33, 21))).isEqualTo(new ImageExtent(33, 21));
    assertThat(ImageExtent.of(encode("gif", 17, 9))).isEqualTo(new ImageExtent(17, 9));
    assertThat(ImageExtent.of(encode("bmp", 12, 7))).isEqualTo(new ImageExtent(12, 7));
  }

  @Test
  void readsAWebpCanvasSize() {
    ByteBuffer webp = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
    webp.put("RIFF".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)).putInt(22);
    webp.put("WEBPVP8X".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)).putInt(10);
    webp.putInt(0); // flags and reserved
    webp.put((byte) 99).put((byte) 0).put((byte) 0); // width - 1 = 99
    webp.put((byte) 49).put((byte) 0).put((byte) 0); // height - 1 = 49

    assertThat(ImageExtent.of(webp.array())).isEqualTo(new ImageExtent(100, 50));
  }

  @Test
  void swapsWidthAndHeightWhenTheExifOrientationTurnsTheImage() throws IOException {
    assertThat(ImageExtent.of(jpegWithOrientation(40, 30, 6))).isEqualTo(new ImageExtent(30, 40));
    assertThat(ImageExtent.of(jpegWithOrientation(40, 30, 8))).isEqualTo(new ImageExtent(30, 40));
    assertThat(ImageExtent.of(jpegWithOrientation(40, 30, 3))).isEqualTo(new ImageExtent(40, 30));
  }

  @Test
  void hasNoSizeForBytesThatAreNoImage() {
    assertThat(ImageExtent.of(new byte[0])).isNull();
    assertThat(ImageExtent.of("not an image at all".getBytes())).isNull();
    assertThat(ImageExtent.of(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF})).isNull();
  }
}

package ai.ferretstream.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/** PNG helpers of the load drivers. */
final class Pngs {

  /**
   * The signature (8 bytes) and the IHDR chunk (4 + 4 + 13 + 4 bytes) that every PNG starts with.
   */
  private static final int AFTER_IHDR = 8 + 25;

  private Pngs() {}

  /**
   * {@code png} with a {@code tEXt} chunk ({@code Comment}, {@code n}) right after its header: the
   * same pixels in other bytes, so another image to anything that keys images by their bytes.
   */
  static byte[] unique(byte[] png, long n) {
    byte[] text = ("Comment\0" + n).getBytes(StandardCharsets.ISO_8859_1);
    byte[] type = "tEXt".getBytes(StandardCharsets.ISO_8859_1);
    CRC32 crc = new CRC32();
    crc.update(type);
    crc.update(text);
    ByteBuffer out = ByteBuffer.allocate(png.length + 12 + text.length);
    out.put(png, 0, AFTER_IHDR);
    out.putInt(text.length).put(type).put(text).putInt((int) crc.getValue());
    out.put(png, AFTER_IHDR, png.length - AFTER_IHDR);
    return out.array();
  }
}

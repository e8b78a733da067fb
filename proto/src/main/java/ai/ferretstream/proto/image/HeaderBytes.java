package ai.ferretstream.proto.image;

import java.nio.charset.StandardCharsets;

/** Bounds-checked signature tests and unsigned integer reads on an image's header bytes. */
final class HeaderBytes {

  private HeaderBytes() {}

  /** Whether {@code d} holds the unsigned bytes {@code signature} at {@code at}. */
  static boolean startsWith(byte[] d, int at, int... signature) {
    if (at < 0 || d.length < at + signature.length) {
      return false;
    }
    for (int i = 0; i < signature.length; i++) {
      if ((d[at + i] & 0xff) != signature[i]) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code d} holds the ISO-8859-1 bytes of {@code text} at {@code at}. */
  static boolean ascii(byte[] d, int at, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    if (at < 0 || d.length < at + bytes.length) {
      return false;
    }
    for (int i = 0; i < bytes.length; i++) {
      if (d[at + i] != bytes[i]) {
        return false;
      }
    }
    return true;
  }

  static int u16be(byte[] d, int p) {
    return (d[p] & 0xff) << 8 | (d[p + 1] & 0xff);
  }

  static long u32be(byte[] d, int p) {
    return ((long) u16be(d, p) << 16) | u16be(d, p + 2);
  }

  static int u16le(byte[] d, int p) {
    return (d[p] & 0xff) | (d[p + 1] & 0xff) << 8;
  }

  static int u24le(byte[] d, int p) {
    return u16le(d, p) | (d[p + 2] & 0xff) << 16;
  }

  static long u32le(byte[] d, int p) {
    return (d[p] & 0xffL)
        | (d[p + 1] & 0xffL) << 8
        | (d[p + 2] & 0xffL) << 16
        | (d[p + 3] & 0xffL) << 24;
  }

  static int u16(byte[] d, int p, boolean little) {
    return little ? u16le(d, p) : u16be(d, p);
  }

  static long u32(byte[] d, int p, boolean little) {
    return little ? u32le(d, p) : u32be(d, p);
  }
}

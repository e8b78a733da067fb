package ai.ferretstream.tiler.domain.decode;

/**
 * What the tiler needs from an image's container before decoding it: the EXIF orientation and, for
 * JPEG, the number of colour components and the Adobe colour transform. Read by walking the
 * container's segments/chunks with bounds checks; anything malformed here just yields the defaults
 * (the decoder then reports the real error).
 *
 * @param orientation EXIF orientation 1..8 (1 = as stored)
 * @param jpegComponents components of the JPEG frame (3 = YCbCr/RGB, 1 = grey, 4 = CMYK/YCCK), or 0
 *     when unknown or not a JPEG
 * @param adobeTransform the Adobe APP14 transform (0 = none/CMYK, 1 = YCbCr, 2 = YCCK), or -1 when
 *     the JPEG has no Adobe segment
 * @param width image width from the header, 0 when not found
 * @param height image height from the header, 0 when not found
 */
record ImageMetadata(
    int orientation, int jpegComponents, int adobeTransform, int width, int height) {

  static ImageMetadata read(ImageFormat format, byte[] data) {
    return switch (format) {
      case JPEG -> jpeg(data);
      case PNG ->
          sized(
              png(data),
              data.length >= 24 ? (int) Math.min(u32be(data, 16), Integer.MAX_VALUE) : 0,
              data.length >= 24 ? (int) Math.min(u32be(data, 20), Integer.MAX_VALUE) : 0);
      case WEBP -> webpSize(webp(data), data);
      case GIF -> gifSize(data);
      case BMP -> bmpSize(data);
    };
  }

  private static ImageMetadata sized(int orientation, int width, int height) {
    return new ImageMetadata(orientation, 0, -1, width, height);
  }

  /** The larger of the logical screen and the first frame's extent (Pillow grows the screen). */
  private static ImageMetadata gifSize(byte[] d) {
    if (d.length < 13) {
      return sized(1, 0, 0);
    }
    int width = u16le(d, 6);
    int height = u16le(d, 8);
    int p = 13;
    if ((d[10] & 0x80) != 0) {
      p += 3 << ((d[10] & 7) + 1);
    }
    while (p < d.length) {
      int block = d[p] & 0xff;
      if (block == 0x2C && p + 9 < d.length) {
        width = Math.max(width, u16le(d, p + 1) + u16le(d, p + 5));
        height = Math.max(height, u16le(d, p + 3) + u16le(d, p + 7));
        break;
      } else if (block == 0x21 && p + 2 < d.length) {
        p += 2; // introducer and label, then sub-blocks up to a zero length
        while (p < d.length && d[p] != 0) {
          p += (d[p] & 0xff) + 1;
        }
        p++;
      } else {
        break;
      }
    }
    return sized(1, width, height);
  }

  private static ImageMetadata bmpSize(byte[] d) {
    if (d.length < 26) {
      return sized(1, 0, 0);
    }
    long header = u32le(d, 14);
    if (header == 12) {
      return sized(1, u16le(d, 18), u16le(d, 20));
    }
    int width = (int) u32le(d, 18);
    int height = (int) u32le(d, 22); // negative: stored top-down
    return sized(1, width, height == Integer.MIN_VALUE ? Integer.MAX_VALUE : Math.abs(height));
  }

  private static ImageMetadata webpSize(int orientation, byte[] d) {
    if (d.length >= 30 && startsWith(d, 12, "VP8X")) {
      return sized(orientation, u24le(d, 24) + 1, u24le(d, 27) + 1);
    }
    if (d.length >= 30 && startsWith(d, 12, "VP8 ")) {
      return sized(orientation, u16le(d, 26) & 0x3fff, u16le(d, 28) & 0x3fff);
    }
    if (d.length >= 25 && startsWith(d, 12, "VP8L") && (d[20] & 0xff) == 0x2f) {
      long bits = u32le(d, 21);
      return sized(orientation, (int) (bits & 0x3fff) + 1, (int) ((bits >> 14) & 0x3fff) + 1);
    }
    return sized(orientation, 0, 0);
  }

  private static ImageMetadata jpeg(byte[] d) {
    int orientation = 1;
    int components = 0;
    int adobe = -1;
    int width = 0;
    int height = 0;
    int p = 2;
    while (p + 4 <= d.length) {
      if ((d[p] & 0xff) != 0xFF) {
        break;
      }
      int marker = d[p + 1] & 0xff;
      if (marker == 0xFF) { // fill byte
        p++;
        continue;
      }
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        p += 2;
        continue;
      }
      if (marker == 0xDA || marker == 0xD9) { // start of scan / end of image
        break;
      }
      int length = u16be(d, p + 2);
      int start = p + 4;
      int end = p + 2 + length;
      if (length < 2 || end > d.length) {
        break;
      }
      if (marker == 0xE1 && orientation == 1 && startsWith(d, start, "Exif\0\0")) {
        orientation = tiffOrientation(d, start + 6, end);
      } else if (marker == 0xEE && end - start >= 12 && startsWith(d, start, "Adobe")) {
        adobe = d[start + 11] & 0xff;
      } else if (isStartOfFrame(marker) && end - start >= 6) {
        height = u16be(d, start + 1);
        width = u16be(d, start + 3);
        components = d[start + 5] & 0xff;
      }
      p = end;
    }
    return new ImageMetadata(orientation, components, adobe, width, height);
  }

  private static boolean isStartOfFrame(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  }

  /** The orientation from a PNG {@code eXIf} chunk before the first IDAT. */
  private static int png(byte[] d) {
    int p = 8;
    while (p + 12 <= d.length) {
      long length = u32be(d, p);
      if (length > d.length - p - 12) {
        break;
      }
      int start = p + 8;
      int end = start + (int) length;
      if (startsWith(d, p + 4, "eXIf")) {
        int tiff = startsWith(d, start, "Exif\0\0") ? start + 6 : start;
        return tiffOrientation(d, tiff, end);
      }
      if (startsWith(d, p + 4, "IDAT")) {
        break;
      }
      p = end + 4; // skip the CRC
    }
    return 1;
  }

  /** The orientation from a WebP {@code EXIF} chunk. */
  private static int webp(byte[] d) {
    int p = 12;
    while (p + 8 <= d.length) {
      long length = u32le(d, p + 4);
      if (length > d.length - p - 8) {
        break;
      }
      int start = p + 8;
      int end = start + (int) length;
      if (startsWith(d, p, "EXIF")) {
        int tiff = startsWith(d, start, "Exif\0\0") ? start + 6 : start;
        return tiffOrientation(d, tiff, end);
      }
      p = end + (int) (length & 1); // chunks are padded to an even size
    }
    return 1;
  }

  /** Tag 0x0112 of IFD0 of the TIFF structure in {@code d[start, end)}; 1 when absent or bad. */
  static int tiffOrientation(byte[] d, int start, int end) {
    if (end - start < 8) {
      return 1;
    }
    boolean little;
    if (d[start] == 'I' && d[start + 1] == 'I') {
      little = true;
    } else if (d[start] == 'M' && d[start + 1] == 'M') {
      little = false;
    } else {
      return 1;
    }
    long ifd = u32(d, start + 4, little);
    if (ifd < 8 || ifd > end - start - 2) {
      return 1;
    }
    int p = start + (int) ifd;
    int entries = u16(d, p, little);
    p += 2;
    for (int i = 0; i < entries && p + 12 <= end; i++, p += 12) {
      if (u16(d, p, little) == 0x0112) {
        int type = u16(d, p + 2, little);
        int value = type == 3 ? u16(d, p + 8, little) : type == 4 ? (int) u32(d, p + 8, little) : 1;
        return value >= 1 && value <= 8 ? value : 1;
      }
    }
    return 1;
  }

  private static boolean startsWith(byte[] d, int at, String text) {
    if (at < 0 || at + text.length() > d.length) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (d[at + i] != (byte) text.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static int u16be(byte[] d, int p) {
    return (d[p] & 0xff) << 8 | (d[p + 1] & 0xff);
  }

  private static long u32be(byte[] d, int p) {
    return ((long) u16be(d, p) << 16) | u16be(d, p + 2);
  }

  private static int u16le(byte[] d, int p) {
    return (d[p] & 0xff) | (d[p + 1] & 0xff) << 8;
  }

  private static int u24le(byte[] d, int p) {
    return u16le(d, p) | (d[p + 2] & 0xff) << 16;
  }

  private static long u32le(byte[] d, int p) {
    return (d[p] & 0xffL)
        | (d[p + 1] & 0xffL) << 8
        | (d[p + 2] & 0xffL) << 16
        | (d[p + 3] & 0xffL) << 24;
  }

  private static int u16(byte[] d, int p, boolean little) {
    return little ? (d[p] & 0xff) | (d[p + 1] & 0xff) << 8 : u16be(d, p);
  }

  private static long u32(byte[] d, int p, boolean little) {
    return little ? u32le(d, p) : u32be(d, p);
  }
}

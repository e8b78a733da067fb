package ai.ferretstream.gateway.domain;

import java.nio.charset.StandardCharsets;

/**
 * The size of an image as displayed, read from its header without decoding it: width and height of
 * the formats the tiler reads (JPEG, PNG, GIF, BMP, WebP), swapped when the EXIF orientation turns
 * the image by 90°. Regions of the native API are given in pixels of the image as displayed, so the
 * gateway checks them against this size before anything is published. The tiler decodes the image
 * with the same rules (its {@code ImageMetadata} and {@code Orientation}).
 *
 * @param width pixels across, as displayed
 * @param height pixels down, as displayed
 */
public record ImageExtent(int width, int height) {

  /** The displayed size of {@code image}, or null when its header does not tell (not an image). */
  public static ImageExtent of(byte[] image) {
    int[] stored = null;
    int orientation = 1;
    if (startsWith(image, 0, 0xFF, 0xD8, 0xFF)) {
      int[] jpeg = jpeg(image);
      stored = jpeg[0] > 0 ? new int[] {jpeg[0], jpeg[1]} : null;
      orientation = jpeg[2];
    } else if (startsWith(image, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)
        && ascii(image, 12, "IHDR")
        && image.length >= 24) {
      stored = new int[] {clamp(u32be(image, 16)), clamp(u32be(image, 20))};
      orientation = pngOrientation(image);
    } else if ((ascii(image, 0, "GIF87a") || ascii(image, 0, "GIF89a")) && image.length >= 13) {
      stored = gif(image);
    } else if (ascii(image, 0, "BM") && image.length >= 26) {
      stored = bmp(image);
    } else if (ascii(image, 0, "RIFF") && ascii(image, 8, "WEBP")) {
      stored = webp(image);
      orientation = webpOrientation(image);
    }
    if (stored == null || stored[0] <= 0 || stored[1] <= 0) {
      return null;
    }
    return orientation >= 5 && orientation <= 8
        ? new ImageExtent(stored[1], stored[0])
        : new ImageExtent(stored[0], stored[1]);
  }

  @Override
  public String toString() {
    return width + "x" + height;
  }

  /** {width, height, orientation}; width 0 when no frame header comes before the scan. */
  private static int[] jpeg(byte[] d) {
    int orientation = 1;
    int width = 0;
    int height = 0;
    int p = 2;
    while (p + 4 <= d.length && (d[p] & 0xff) == 0xFF) {
      int marker = d[p + 1] & 0xff;
      if (marker == 0xFF) {
        p++; // fill byte
        continue;
      }
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        p += 2; // no length
        continue;
      }
      if (marker == 0xDA || marker == 0xD9) {
        break; // start of scan, end of image
      }
      int length = u16be(d, p + 2);
      int start = p + 4;
      int end = p + 2 + length;
      if (length < 2 || end > d.length) {
        break;
      }
      if (marker == 0xE1 && orientation == 1 && ascii(d, start, "Exif\0\0")) {
        orientation = tiffOrientation(d, start + 6, end);
      } else if (marker >= 0xC0
          && marker <= 0xCF
          && marker != 0xC4
          && marker != 0xC8
          && marker != 0xCC
          && end - start >= 5) {
        height = u16be(d, start + 1);
        width = u16be(d, start + 3);
      }
      p = end;
    }
    return new int[] {width, height, orientation};
  }

  /** The orientation of a PNG {@code eXIf} chunk before the first {@code IDAT}; else 1. */
  private static int pngOrientation(byte[] d) {
    int p = 8;
    while (p + 12 <= d.length) {
      long length = u32be(d, p);
      if (length > d.length - p - 12) {
        break;
      }
      int start = p + 8;
      int end = start + (int) length;
      if (ascii(d, p + 4, "eXIf")) {
        return tiffOrientation(d, ascii(d, start, "Exif\0\0") ? start + 6 : start, end);
      }
      if (ascii(d, p + 4, "IDAT")) {
        break;
      }
      p = end + 4; // the CRC
    }
    return 1;
  }

  /** The larger of the logical screen and the first frame's extent, as the tiler decodes it. */
  private static int[] gif(byte[] d) {
    int width = u16le(d, 6);
    int height = u16le(d, 8);
    int p = 13;
    if ((d[10] & 0x80) != 0) {
      p += 3 << ((d[10] & 7) + 1); // global colour table
    }
    while (p < d.length) {
      int block = d[p] & 0xff;
      if (block == 0x2C && p + 9 < d.length) {
        width = Math.max(width, u16le(d, p + 1) + u16le(d, p + 5));
        height = Math.max(height, u16le(d, p + 3) + u16le(d, p + 7));
        break;
      } else if (block == 0x21 && p + 2 < d.length) {
        p += 2; // extension: introducer and label, then sub-blocks up to a zero length
        while (p < d.length && d[p] != 0) {
          p += (d[p] & 0xff) + 1;
        }
        p++;
      } else {
        break;
      }
    }
    return new int[] {width, height};
  }

  private static int[] bmp(byte[] d) {
    if (u32le(d, 14) == 12) {
      return new int[] {u16le(d, 18), u16le(d, 20)}; // OS/2 core header
    }
    int height = (int) u32le(d, 22); // negative: stored top-down
    return new int[] {
      (int) u32le(d, 18), height == Integer.MIN_VALUE ? Integer.MAX_VALUE : Math.abs(height)
    };
  }

  private static int[] webp(byte[] d) {
    if (d.length >= 30 && ascii(d, 12, "VP8X")) {
      return new int[] {u24le(d, 24) + 1, u24le(d, 27) + 1};
    }
    if (d.length >= 30 && ascii(d, 12, "VP8 ")) {
      return new int[] {u16le(d, 26) & 0x3fff, u16le(d, 28) & 0x3fff};
    }
    if (d.length >= 25 && ascii(d, 12, "VP8L") && (d[20] & 0xff) == 0x2f) {
      long bits = u32le(d, 21);
      return new int[] {(int) (bits & 0x3fff) + 1, (int) ((bits >> 14) & 0x3fff) + 1};
    }
    return null;
  }

  /** The orientation of a WebP {@code EXIF} chunk; else 1. */
  private static int webpOrientation(byte[] d) {
    int p = 12;
    while (p + 8 <= d.length) {
      long length = u32le(d, p + 4);
      if (length > d.length - p - 8) {
        break;
      }
      int start = p + 8;
      int end = start + (int) length;
      if (ascii(d, p, "EXIF")) {
        return tiffOrientation(d, ascii(d, start, "Exif\0\0") ? start + 6 : start, end);
      }
      p = end + (int) (length & 1); // chunks are padded to an even size
    }
    return 1;
  }

  /** Tag 0x0112 of IFD0 of the TIFF structure in {@code d[start, end)}; 1 when absent or bad. */
  private static int tiffOrientation(byte[] d, int start, int end) {
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

  private static int clamp(long v) {
    return (int) Math.min(v, Integer.MAX_VALUE);
  }

  private static boolean startsWith(byte[] d, int at, int... signature) {
    if (d.length < at + signature.length) {
      return false;
    }
    for (int i = 0; i < signature.length; i++) {
      if ((d[at + i] & 0xff) != signature[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean ascii(byte[] d, int at, String text) {
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
    return little ? u16le(d, p) : u16be(d, p);
  }

  private static long u32(byte[] d, int p, boolean little) {
    return little ? u32le(d, p) : u32be(d, p);
  }
}

package ai.ferretstream.proto.image;

import static ai.ferretstream.proto.image.HeaderBytes.ascii;
import static ai.ferretstream.proto.image.HeaderBytes.u16;
import static ai.ferretstream.proto.image.HeaderBytes.u16be;
import static ai.ferretstream.proto.image.HeaderBytes.u16le;
import static ai.ferretstream.proto.image.HeaderBytes.u24le;
import static ai.ferretstream.proto.image.HeaderBytes.u32;
import static ai.ferretstream.proto.image.HeaderBytes.u32be;
import static ai.ferretstream.proto.image.HeaderBytes.u32le;

/**
 * What an image's header says before any pixel is decoded: its format, stored size, EXIF
 * orientation and, for JPEG, the frame's colour components and the Adobe colour transform. The one
 * header reader of the pipeline: the gateway checks native regions against the displayed size, the
 * tiler checks its pixel limit and applies the orientation, so both see an image the same way.
 *
 * <p>Read by walking the container's segments/chunks with bounds checks; anything malformed just
 * yields the defaults (no size, orientation 1), and the decoder then reports the real error. Sizes
 * follow Pillow, as the tiler decodes: a GIF is the larger of its logical screen and its first
 * frame's extent, a top-down BMP has its height's absolute value.
 *
 * @param format the format, from the signature bytes
 * @param width stored width (before orientation), 0 when the header does not give it
 * @param height stored height (before orientation), 0 when the header does not give it
 * @param orientation EXIF orientation 1..8 (1 = as stored)
 * @param jpegComponents components of the JPEG frame (3 = YCbCr/RGB, 1 = grey, 4 = CMYK/YCCK), or 0
 *     when unknown or not a JPEG
 * @param adobeTransform the Adobe APP14 transform (0 = none/CMYK, 1 = YCbCr, 2 = YCCK), or -1 when
 *     the image is no JPEG or has no Adobe segment
 */
public record ImageHeader(
    ImageFormat format,
    int width,
    int height,
    int orientation,
    int jpegComponents,
    int adobeTransform) {

  /** The header of {@code data}, or null when it is none of the {@link ImageFormat}s. */
  public static ImageHeader read(byte[] data) {
    ImageFormat format = ImageFormat.sniff(data);
    if (format == null) {
      return null;
    }
    return switch (format) {
      case JPEG -> jpeg(data);
      case PNG -> png(data);
      case GIF -> gif(data);
      case BMP -> bmp(data);
      case WEBP -> webp(data);
    };
  }

  /** Whether the header gives both a width and a height. */
  public boolean hasSize() {
    return width > 0 && height > 0;
  }

  /** Whether the orientation turns the image by 90° (5 to 8), swapping width and height. */
  public boolean turned() {
    return orientation >= 5 && orientation <= 8;
  }

  /** Pixels across as displayed, the orientation applied. */
  public int displayedWidth() {
    return turned() ? height : width;
  }

  /** Pixels down as displayed, the orientation applied. */
  public int displayedHeight() {
    return turned() ? width : height;
  }

  private static ImageHeader sized(ImageFormat format, int width, int height, int orientation) {
    return new ImageHeader(format, width, height, orientation, 0, -1);
  }

  private static ImageHeader jpeg(byte[] d) {
    int orientation = 1;
    int components = 0;
    int adobe = -1;
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
      } else if (marker == 0xEE && end - start >= 12 && ascii(d, start, "Adobe")) {
        adobe = d[start + 11] & 0xff;
      } else if (isStartOfFrame(marker) && end - start >= 5) {
        height = u16be(d, start + 1);
        width = u16be(d, start + 3);
        if (end - start >= 6) {
          components = d[start + 5] & 0xff;
        }
      }
      p = end;
    }
    return new ImageHeader(ImageFormat.JPEG, width, height, orientation, components, adobe);
  }

  private static boolean isStartOfFrame(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  }

  /** The size from {@code IHDR} (the first chunk) and the orientation from {@code eXIf}. */
  private static ImageHeader png(byte[] d) {
    boolean ihdr = ascii(d, 12, "IHDR") && d.length >= 24;
    return sized(
        ImageFormat.PNG,
        ihdr ? clamp(u32be(d, 16)) : 0,
        ihdr ? clamp(u32be(d, 20)) : 0,
        pngOrientation(d));
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

  /** The larger of the logical screen and the first frame's extent (Pillow grows the screen). */
  private static ImageHeader gif(byte[] d) {
    if (d.length < 13) {
      return sized(ImageFormat.GIF, 0, 0, 1);
    }
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
    return sized(ImageFormat.GIF, width, height, 1);
  }

  /** {@link ImageFormat#sniff} has checked the 26 bytes of the headers read here. */
  private static ImageHeader bmp(byte[] d) {
    if (u32le(d, 14) == 12) {
      return sized(ImageFormat.BMP, u16le(d, 18), u16le(d, 20), 1); // OS/2 core header
    }
    int height = (int) u32le(d, 22); // negative: stored top-down
    return sized(
        ImageFormat.BMP,
        (int) u32le(d, 18),
        height == Integer.MIN_VALUE ? Integer.MAX_VALUE : Math.abs(height),
        1);
  }

  private static ImageHeader webp(byte[] d) {
    int orientation = webpOrientation(d);
    if (d.length >= 30 && ascii(d, 12, "VP8X")) {
      return sized(ImageFormat.WEBP, u24le(d, 24) + 1, u24le(d, 27) + 1, orientation);
    }
    if (d.length >= 30 && ascii(d, 12, "VP8 ")) {
      return sized(ImageFormat.WEBP, u16le(d, 26) & 0x3fff, u16le(d, 28) & 0x3fff, orientation);
    }
    if (d.length >= 25 && ascii(d, 12, "VP8L") && (d[20] & 0xff) == 0x2f) {
      long bits = u32le(d, 21);
      return sized(
          ImageFormat.WEBP,
          (int) (bits & 0x3fff) + 1,
          (int) ((bits >> 14) & 0x3fff) + 1,
          orientation);
    }
    return sized(ImageFormat.WEBP, 0, 0, orientation);
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
}

package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A PNG decoder that inflates the image data straight into one buffer of the exact filtered size,
 * unfilters it in place and packs it to {@code 0x00RRGGBB}, following Pillow 9.4's {@code
 * convert('RGB')}: alpha is dropped (never composited), {@code tRNS} is ignored, 16-bit channels
 * keep their high byte, except 16-bit grey without alpha, which Pillow opens as mode {@code I} and
 * clips to 255.
 *
 * <p>Every input either decodes or gives an {@link ImageRefused}; the {@link PixelLimit} sees the
 * size before anything proportional to it is allocated.
 */
final class PngDecoder {

  /** Refuses an image from its size, by throwing; called before the pixels are allocated. */
  @FunctionalInterface
  interface PixelLimit {
    void check(int width, int height);
  }

  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private static final int IHDR = chunkType("IHDR");
  private static final int PLTE = chunkType("PLTE");
  private static final int IDAT = chunkType("IDAT");
  private static final int IEND = chunkType("IEND");

  private static final int GREY = 0;
  private static final int RGB = 2;
  private static final int PALETTE = 3;
  private static final int GREY_ALPHA = 4;
  private static final int RGBA = 6;

  /** The largest byte array the decoder allocates (the usual VM limit). */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  /**
   * Deflate turns at most 2 bits into 258 bytes, so a zlib stream inflates to at most 1032 times
   * its size (plus headers): image data that claims more than this is missing, and is refused
   * before its buffer is allocated.
   */
  private static final long MAX_INFLATE_RATIO = 1040;

  private static final long INFLATE_SLACK = 4096;

  /** Adam7: the first column and row, and the column and row steps, of each pass. */
  private static final int[] ADAM7_X0 = {0, 4, 0, 2, 0, 1, 0};

  private static final int[] ADAM7_Y0 = {0, 0, 4, 0, 2, 0, 1};
  private static final int[] ADAM7_DX = {8, 8, 4, 4, 2, 2, 1};
  private static final int[] ADAM7_DY = {8, 8, 8, 4, 4, 2, 2};

  private PngDecoder() {}

  /** Decodes a whole PNG into packed 0x00RRGGBB pixels with Pillow 9.4's convert('RGB') rules. */
  static PackedImage decode(byte[] data, PixelLimit limit) {
    Decoding decoding = new Decoding(data);
    try {
      decoding.readHeader();
    } catch (RuntimeException e) {
      throw refusal(e);
    }
    limit.check(decoding.width, decoding.height);
    try {
      return decoding.decodePixels();
    } catch (RuntimeException e) {
      throw refusal(e);
    }
  }

  private static ImageRefused refusal(RuntimeException e) {
    if (e instanceof ImageRefused refused) {
      return refused;
    }
    // impossible by construction (every index and size is checked); kept so that no input can
    // give anything but a refusal
    return new ImageRefused(Reason.CORRUPT, "corrupt PNG: " + e, e);
  }

  /** The state of one decode. */
  private static final class Decoding {

    private final byte[] data;
    private int width;
    private int height;
    private int bitDepth;
    private int colourType;
    private boolean interlaced;
    private int bitsPerPixel;
    private int[] palette;
    private int chunksStart;

    Decoding(byte[] data) {
      this.data = data;
    }

    /** Checks the signature and reads IHDR. */
    void readHeader() {
      checkSignature();
      chunksStart = readHeader(SIGNATURE.length);
    }

    /** Reads the chunks after IHDR into pixels. */
    PackedImage decodePixels() {
      int pos = chunksStart;
      long filteredSize;
      try {
        filteredSize = filteredSize();
      } catch (ArithmeticException e) {
        throw corrupt("a " + width + "x" + height + " image has too much image data");
      }
      if (filteredSize > MAX_ARRAY) {
        throw corrupt("image data of " + filteredSize + " bytes is too large");
      }
      if ((long) width * height > MAX_ARRAY) {
        throw new ImageRefused(
            Reason.TOO_MANY_PIXELS, "a " + width + "x" + height + " PNG has too many pixels");
      }
      long idatBytes = idatBytes(pos);
      if (filteredSize > idatBytes * MAX_INFLATE_RATIO + INFLATE_SLACK) {
        throw new ImageRefused(
            Reason.TRUNCATED,
            "truncated PNG: "
                + idatBytes
                + " bytes of image data cannot hold a "
                + width
                + "x"
                + height
                + " image");
      }
      byte[] filtered = new byte[(int) filteredSize];
      inflate(pos, filtered);
      int[] pixels = new int[width * height];
      if (interlaced) {
        int offset = 0;
        for (int pass = 0; pass < 7; pass++) {
          int passWidth = passSize(width, ADAM7_X0[pass], ADAM7_DX[pass]);
          int passHeight = passSize(height, ADAM7_Y0[pass], ADAM7_DY[pass]);
          if (passWidth == 0 || passHeight == 0) {
            continue;
          }
          offset =
              unfilterAndConvert(
                  filtered,
                  offset,
                  passWidth,
                  passHeight,
                  pixels,
                  ADAM7_X0[pass],
                  ADAM7_Y0[pass],
                  ADAM7_DX[pass],
                  ADAM7_DY[pass]);
        }
      } else {
        unfilterAndConvert(filtered, 0, width, height, pixels, 0, 0, 1, 1);
      }
      return new PackedImage(width, height, pixels);
    }

    private void checkSignature() {
      int n = Math.min(data.length, SIGNATURE.length);
      for (int i = 0; i < n; i++) {
        if (data[i] != SIGNATURE[i]) {
          throw corrupt("not a PNG signature");
        }
      }
      if (n < SIGNATURE.length) {
        throw truncated("the PNG signature");
      }
    }

    /** Reads and checks IHDR at {@code pos}; returns the position after it. */
    private int readHeader(int pos) {
      if (data.length - pos < 8) {
        throw truncated("the IHDR chunk");
      }
      long length = readInt(pos) & 0xffffffffL;
      if (readInt(pos + 4) != IHDR) {
        throw corrupt("IHDR is not the first chunk");
      }
      if (length != 13) {
        throw corrupt("IHDR has " + length + " bytes, not 13");
      }
      int body = pos + 8;
      if (data.length - body < 13 + 4) {
        throw truncated("the IHDR chunk");
      }
      checkCrc(pos + 4, 13, "IHDR");
      long w = readInt(body) & 0xffffffffL;
      long h = readInt(body + 4) & 0xffffffffL;
      if (w == 0 || h == 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
        throw new ImageRefused(
            Reason.BAD_DIMENSIONS, "a PNG of " + w + "x" + h + " pixels is not an image");
      }
      width = (int) w;
      height = (int) h;
      bitDepth = data[body + 8] & 0xff;
      colourType = data[body + 9] & 0xff;
      int compression = data[body + 10] & 0xff;
      int filter = data[body + 11] & 0xff;
      int interlace = data[body + 12] & 0xff;
      int channels = channels(colourType, bitDepth);
      if (channels == 0) {
        throw corrupt("bit depth " + bitDepth + " with colour type " + colourType);
      }
      if (compression != 0) {
        throw corrupt("compression method " + compression);
      }
      if (filter != 0) {
        throw corrupt("filter method " + filter);
      }
      if (interlace > 1) {
        throw corrupt("interlace method " + interlace);
      }
      interlaced = interlace == 1;
      bitsPerPixel = channels * bitDepth;
      return body + 13 + 4;
    }

    /** The channels of a valid colour type and bit depth, or 0 for an invalid combination. */
    private static int channels(int colourType, int bitDepth) {
      switch (colourType) {
        case GREY:
          return bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16
              ? 1
              : 0;
        case PALETTE:
          return bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 ? 1 : 0;
        case RGB:
          return bitDepth == 8 || bitDepth == 16 ? 3 : 0;
        case GREY_ALPHA:
          return bitDepth == 8 || bitDepth == 16 ? 2 : 0;
        case RGBA:
          return bitDepth == 8 || bitDepth == 16 ? 4 : 0;
        default:
          return 0;
      }
    }

    /** The bytes of the filtered image data: rows of a filter byte and packed samples. */
    private long filteredSize() {
      if (!interlaced) {
        return Math.multiplyExact(rowBytes(width) + 1, (long) height);
      }
      long total = 0;
      for (int pass = 0; pass < 7; pass++) {
        int passWidth = passSize(width, ADAM7_X0[pass], ADAM7_DX[pass]);
        int passHeight = passSize(height, ADAM7_Y0[pass], ADAM7_DY[pass]);
        if (passWidth > 0 && passHeight > 0) {
          total = Math.addExact(total, Math.multiplyExact(rowBytes(passWidth) + 1, passHeight));
        }
      }
      return total;
    }

    private long rowBytes(int pixels) {
      return (Math.multiplyExact((long) pixels, bitsPerPixel) + 7) >>> 3;
    }

    /** The IDAT bytes of the chunks from {@code pos} on, as far as the data holds whole chunks. */
    private long idatBytes(int pos) {
      long total = 0;
      while (data.length - pos >= 12) {
        long length = readInt(pos) & 0xffffffffL;
        int type = readInt(pos + 4);
        if (length > data.length - pos - 12) {
          break;
        }
        if (type == IDAT) {
          total += length;
        } else if (type == IEND) {
          break;
        }
        pos += 12 + (int) length;
      }
      return total;
    }

    /**
     * Walks the chunks from {@code pos}, reading PLTE and inflating the IDAT chunks, in order, into
     * {@code out}, until it is full.
     */
    private void inflate(int pos, byte[] out) {
      Inflater inflater = new Inflater();
      try {
        int produced = 0;
        boolean seenIdat = false;
        while (produced < out.length) {
          if (data.length - pos < 8) {
            throw truncated(seenIdat ? "the image data" : "the chunks before the image data");
          }
          long length = readInt(pos) & 0xffffffffL;
          int type = readInt(pos + 4);
          if (length > Integer.MAX_VALUE) {
            throw corrupt("a chunk of " + length + " bytes");
          }
          int body = pos + 8;
          if (length + 4 > data.length - body) {
            throw truncated("the " + typeName(type) + " chunk");
          }
          if (type == IDAT) {
            if (!seenIdat) {
              seenIdat = true;
              if (colourType == PALETTE && palette == null) {
                throw corrupt("a palette image without PLTE");
              }
            }
            if (length > 0) {
              inflater.setInput(data, body, (int) length);
              produced = inflateChunk(inflater, out, produced);
            }
          } else if (type == PLTE) {
            if (seenIdat) {
              throw corrupt("PLTE after the image data");
            }
            readPalette(pos + 4, (int) length);
          } else if (type == IEND) {
            throw truncated("the image data (IEND came first)");
          } else if (type == IHDR) {
            throw corrupt("a second IHDR");
          }
          pos = body + (int) length + 4;
        }
      } finally {
        inflater.end();
      }
    }

    /** Inflates the inflater's input into {@code out} from {@code produced}; returns the end. */
    private int inflateChunk(Inflater inflater, byte[] out, int produced) {
      try {
        while (produced < out.length) {
          int n = inflater.inflate(out, produced, out.length - produced);
          produced += n;
          if (n == 0) {
            if (inflater.finished()) {
              throw truncated("the image data (the zlib stream ends early)");
            }
            if (inflater.needsDictionary()) {
              throw corrupt("the image data needs a zlib dictionary");
            }
            if (inflater.needsInput()) {
              break;
            }
          }
        }
        return produced;
      } catch (DataFormatException e) {
        throw new ImageRefused(Reason.CORRUPT, "corrupt PNG image data: " + e.getMessage(), e);
      }
    }

    /** Reads the PLTE chunk whose type starts at {@code typePos}. */
    private void readPalette(int typePos, int length) {
      checkCrc(typePos, length, "PLTE");
      if (length % 3 != 0 || length == 0 || length > 256 * 3) {
        throw corrupt("a PLTE chunk of " + length + " bytes");
      }
      int[] colours = new int[256]; // entries past the palette are black
      for (int i = 0, p = typePos + 4; i < length / 3; i++, p += 3) {
        colours[i] = (data[p] & 0xff) << 16 | (data[p + 1] & 0xff) << 8 | (data[p + 2] & 0xff);
      }
      palette = colours;
    }

    /**
     * Unfilters, in place, the {@code rows} rows of {@code cols} pixels starting at {@code offset},
     * and converts them into {@code pixels} at column {@code x0 + i * dx} and row {@code y0 + j *
     * dy}. Returns the offset after the rows.
     */
    private int unfilterAndConvert(
        byte[] buf,
        int offset,
        int cols,
        int rows,
        int[] pixels,
        int x0,
        int y0,
        int dx,
        int dy) {
      int rowBytes = (int) rowBytes(cols);
      int bpp = Math.max(1, bitsPerPixel / 8);
      int previous = -1;
      for (int j = 0; j < rows; j++) {
        int row = offset + 1;
        int filterType = buf[offset];
        switch (filterType) {
          case 0:
            break;
          case 1:
            unfilterSub(buf, row, rowBytes, bpp);
            break;
          case 2:
            if (previous >= 0) {
              unfilterUp(buf, row, previous, rowBytes);
            }
            break;
          case 3:
            if (previous >= 0) {
              unfilterAverage(buf, row, previous, rowBytes, bpp);
            } else {
              unfilterAverageFirst(buf, row, rowBytes, bpp);
            }
            break;
          case 4:
            if (previous >= 0) {
              unfilterPaeth(buf, row, previous, rowBytes, bpp);
            } else {
              unfilterSub(buf, row, rowBytes, bpp);
            }
            break;
          default:
            throw corrupt("filter type " + (filterType & 0xff));
        }
        convertRow(buf, row, cols, pixels, (y0 + j * dy) * width + x0, dx);
        previous = row;
        offset = row + rowBytes;
      }
      return offset;
    }

    private static void unfilterSub(byte[] b, int row, int n, int bpp) {
      for (int i = row + bpp, end = row + n; i < end; i++) {
        b[i] += b[i - bpp];
      }
    }

    private static void unfilterUp(byte[] b, int row, int previous, int n) {
      int d = row - previous;
      for (int i = previous, end = previous + n; i < end; i++) {
        b[i + d] += b[i];
      }
    }

    private static void unfilterAverageFirst(byte[] b, int row, int n, int bpp) {
      for (int i = row + bpp, end = row + n; i < end; i++) {
        b[i] += (b[i - bpp] & 0xff) >>> 1;
      }
    }

    private static void unfilterAverage(byte[] b, int row, int previous, int n, int bpp) {
      int d = row - previous;
      int first = Math.min(bpp, n);
      for (int i = 0; i < first; i++) {
        b[row + i] += (b[previous + i] & 0xff) >>> 1;
      }
      for (int i = row + first, end = row + n; i < end; i++) {
        b[i] += ((b[i - bpp] & 0xff) + (b[i - d] & 0xff)) >>> 1;
      }
    }

    private static void unfilterPaeth(byte[] b, int row, int previous, int n, int bpp) {
      int d = row - previous;
      int first = Math.min(bpp, n);
      for (int i = 0; i < first; i++) {
        b[row + i] += b[previous + i];
      }
      for (int i = row + first, end = row + n; i < end; i++) {
        int a = b[i - bpp] & 0xff;
        int up = b[i - d] & 0xff;
        int c = b[i - d - bpp] & 0xff;
        int pa = Math.abs(up - c);
        int pb = Math.abs(a - c);
        int pc = Math.abs(a + up - 2 * c);
        int predictor = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
        b[i] += predictor;
      }
    }

    /** Packs the {@code cols} unfiltered pixels at {@code row} to {@code out[dst + i * dx]}. */
    private void convertRow(byte[] b, int row, int cols, int[] out, int dst, int dx) {
      switch (colourType) {
        case RGB:
        case RGBA:
          {
            int step = bitsPerPixel / 8;
            int cs = bitDepth / 8; // the high byte of a 16-bit sample comes first
            for (int i = 0, p = row; i < cols; i++, p += step, dst += dx) {
              out[dst] = (b[p] & 0xff) << 16 | (b[p + cs] & 0xff) << 8 | (b[p + 2 * cs] & 0xff);
            }
            break;
          }
        case GREY_ALPHA:
          {
            int step = bitsPerPixel / 8;
            for (int i = 0, p = row; i < cols; i++, p += step, dst += dx) {
              out[dst] = (b[p] & 0xff) * 0x010101;
            }
            break;
          }
        case GREY:
          if (bitDepth == 16) {
            // Pillow opens 16-bit grey as 32-bit mode I, and converting I to RGB clips at 255
            for (int i = 0, p = row; i < cols; i++, p += 2, dst += dx) {
              int v = (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
              out[dst] = Math.min(v, 255) * 0x010101;
            }
          } else if (bitDepth == 8) {
            for (int i = 0, p = row; i < cols; i++, p++, dst += dx) {
              out[dst] = (b[p] & 0xff) * 0x010101;
            }
          } else {
            int scale = 255 / ((1 << bitDepth) - 1);
            unpack(b, row, cols, out, dst, dx, scale * 0x010101, null);
          }
          break;
        case PALETTE:
          if (bitDepth == 8) {
            int[] colours = palette;
            for (int i = 0, p = row; i < cols; i++, p++, dst += dx) {
              out[dst] = colours[b[p] & 0xff];
            }
          } else {
            unpack(b, row, cols, out, dst, dx, 0, palette);
          }
          break;
        default:
          throw corrupt("colour type " + colourType);
      }
    }

    /**
     * Unpacks 1-, 2- or 4-bit samples, most significant first: to {@code sample * multiplier}, or
     * to {@code colours[sample]} where {@code colours} is given.
     */
    private void unpack(
        byte[] b, int row, int cols, int[] out, int dst, int dx, int multiplier, int[] colours) {
      int bits = bitDepth;
      int mask = (1 << bits) - 1;
      int perByte = 8 / bits;
      int p = row;
      int i = 0;
      while (i < cols) {
        int v = b[p++] & 0xff;
        int n = Math.min(perByte, cols - i);
        for (int k = 0, shift = 8 - bits; k < n; k++, shift -= bits, dst += dx) {
          int sample = (v >>> shift) & mask;
          out[dst] = colours != null ? colours[sample] : sample * multiplier;
        }
        i += n;
      }
    }

    private void checkCrc(int typePos, int length, String chunk) {
      CRC32 crc = new CRC32();
      crc.update(data, typePos, 4 + length);
      if ((int) crc.getValue() != readInt(typePos + 4 + length)) {
        throw corrupt("bad CRC in " + chunk);
      }
    }

    private int readInt(int pos) {
      return (data[pos] & 0xff) << 24
          | (data[pos + 1] & 0xff) << 16
          | (data[pos + 2] & 0xff) << 8
          | (data[pos + 3] & 0xff);
    }
  }

  /** The pixels of an Adam7 pass over {@code size} pixels that starts at {@code start}. */
  private static int passSize(int size, int start, int step) {
    return size <= start ? 0 : (int) (((long) size - start + step - 1) / step);
  }

  private static int chunkType(String name) {
    return name.charAt(0) << 24 | name.charAt(1) << 16 | name.charAt(2) << 8 | name.charAt(3);
  }

  private static String typeName(int type) {
    StringBuilder name = new StringBuilder(4);
    for (int shift = 24; shift >= 0; shift -= 8) {
      int c = (type >>> shift) & 0xff;
      name.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
    }
    return name.toString();
  }

  private static ImageRefused corrupt(String what) {
    return new ImageRefused(Reason.CORRUPT, "corrupt PNG: " + what);
  }

  private static ImageRefused truncated(String what) {
    return new ImageRefused(Reason.TRUNCATED, "truncated PNG: " + what + " is cut off");
  }
}

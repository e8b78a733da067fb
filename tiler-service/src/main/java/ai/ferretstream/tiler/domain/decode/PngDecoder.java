package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
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

  /** The most bytes inflated before the completed rows are unfiltered (while in the cache). */
  private static final int SLICE = 128 * 1024;

  /** Eight bytes of a byte array as one long, for the Up filter. */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  /** Four bytes of a byte array as one big-endian int, for packing 8-bit RGB. */
  private static final VarHandle INTS =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

  private static final long LOW_7_BITS = 0x7f7f_7f7f_7f7f_7f7fL;
  private static final long HIGH_BITS = 0x8080_8080_8080_8080L;

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

    /** The filtered image data, unfiltered in place row by row, and the packed pixels. */
    private byte[] filtered;

    private int[] pixels;
    private int bpp;
    private int lanes;

    /** The bytes inflated so far. */
    private int produced;

    /** The next row to unfilter: its pass (7 when all are done) and its place in the pass. */
    private int pass;

    private int passCols;
    private int passRows;
    private int rowBytes;
    private int rowInPass;
    private int x0;
    private int y0;
    private int dx;
    private int dy;

    /** The offset of the next row's filter byte, and of the previous row's data (or -1). */
    private int offset;

    private int previous;

    Decoding(byte[] data) {
      this.data = data;
    }

    /** Checks the signature and reads IHDR. */
    void readHeader() {
      checkSignature();
      chunksStart = readIhdr(SIGNATURE.length);
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
        throw truncated(
            idatBytes + " bytes of IDAT cannot hold a " + width + "x" + height + " image");
      }
      filtered = new byte[(int) filteredSize];
      pixels = new int[width * height];
      bpp = Math.max(1, bitsPerPixel / 8);
      lanes = bitsPerPixel == 24 || bitsPerPixel == 32 ? bitsPerPixel / 8 : 0;
      pass = -1;
      nextPass();
      inflate(pos);
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
        throw truncated("the data ends inside the signature");
      }
    }

    /** Reads and checks IHDR at {@code pos}; returns the position after it. */
    private int readIhdr(int pos) {
      if (data.length - pos < 8) {
        throw truncated("the data ends inside IHDR");
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
        throw truncated("the data ends inside IHDR");
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
     * {@code filtered}, until it is full: chunks after the last row, IEND included, are not read.
     */
    private void inflate(int pos) {
      Inflater inflater = new Inflater();
      try {
        boolean seenIdat = false;
        while (produced < filtered.length) {
          if (data.length - pos < 8) {
            throw truncated(
                seenIdat ? "the data ends before the last row" : "the data ends before IDAT");
          }
          long length = readInt(pos) & 0xffffffffL;
          int type = readInt(pos + 4);
          if (length > Integer.MAX_VALUE) {
            throw corrupt("a chunk of " + length + " bytes");
          }
          int body = pos + 8;
          if (length + 4 > data.length - body) {
            throw truncated("the data ends inside a " + typeName(type) + " chunk");
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
              inflateChunk(inflater);
            }
          } else if (type == PLTE) {
            if (seenIdat) {
              throw corrupt("PLTE after the image data");
            }
            readPalette(pos + 4, (int) length);
          } else if (type == IEND) {
            throw truncated("IEND before the last row");
          } else if (type == IHDR) {
            throw corrupt("a second IHDR");
          }
          pos = body + (int) length + 4;
        }
      } finally {
        inflater.end();
      }
    }

    /**
     * Inflates the inflater's input into {@code filtered}, a slice at a time, unfiltering and
     * converting each row as soon as it is complete, while it is still in the cache.
     */
    private void inflateChunk(Inflater inflater) {
      try {
        while (produced < filtered.length) {
          int remaining = inflater.getRemaining();
          int n = inflater.inflate(filtered, produced, Math.min(filtered.length - produced, SLICE));
          if (n > 0) {
            produced += n;
            convertRows();
          } else if (inflater.finished()) {
            throw truncated("the zlib stream ends before the last row");
          } else if (inflater.needsDictionary()) {
            throw corrupt("the image data needs a zlib dictionary");
          } else if (inflater.needsInput()) {
            break;
          } else if (inflater.getRemaining() == remaining) {
            throw corrupt("the image data does not inflate"); // no progress: never loop forever
          }
        }
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

    /** Unfilters and converts the rows that the inflated bytes complete. */
    private void convertRows() {
      while (pass < 7 && offset + 1 + rowBytes <= produced) {
        int row = offset + 1;
        unfilterRow(filtered, row, previous, rowBytes, bpp, lanes);
        convertRow(filtered, row, passCols, pixels, (y0 + rowInPass * dy) * width + x0, dx);
        previous = row;
        offset = row + rowBytes;
        if (++rowInPass == passRows) {
          nextPass();
        }
      }
    }

    /**
     * Moves to the next Adam7 pass that has pixels (the only pass of a non-interlaced image is pass
     * 0), or to pass 7 after the last one.
     */
    private void nextPass() {
      if (!interlaced) {
        if (pass < 0) {
          setPass(0, width, height, 0, 0, 1, 1);
        } else {
          pass = 7;
        }
        return;
      }
      while (++pass < 7) {
        int cols = passSize(width, ADAM7_X0[pass], ADAM7_DX[pass]);
        int rows = passSize(height, ADAM7_Y0[pass], ADAM7_DY[pass]);
        if (cols > 0 && rows > 0) {
          setPass(pass, cols, rows, ADAM7_X0[pass], ADAM7_Y0[pass], ADAM7_DX[pass], ADAM7_DY[pass]);
          return;
        }
      }
    }

    private void setPass(int index, int cols, int rows, int x, int y, int stepX, int stepY) {
      pass = index;
      passCols = cols;
      passRows = rows;
      rowBytes = (int) rowBytes(cols);
      rowInPass = 0;
      previous = -1;
      x0 = x;
      y0 = y;
      dx = stepX;
      dy = stepY;
    }

    /**
     * Unfilters, in place, the row of {@code rowBytes} bytes at {@code row}, after its filter byte,
     * given the unfiltered row above at {@code previous} (or -1 for the first row of a pass).
     */
    private static void unfilterRow(
        byte[] buf, int row, int previous, int rowBytes, int bpp, int lanes) {
      int filterType = buf[row - 1];
      switch (filterType) {
        case 0:
          break;
        case 1:
          unfilterSub(buf, row, rowBytes, bpp, lanes);
          break;
        case 2:
          if (previous >= 0) {
            unfilterUp(buf, row, previous, rowBytes);
          }
          break;
        case 3:
          if (previous >= 0) {
            unfilterAverage(buf, row, previous, rowBytes, bpp, lanes);
          } else {
            unfilterAverageFirst(buf, row, rowBytes, bpp);
          }
          break;
        case 4:
          if (previous >= 0) {
            unfilterPaeth(buf, row, previous, rowBytes, bpp, lanes);
          } else {
            unfilterSub(buf, row, rowBytes, bpp, lanes);
          }
          break;
        default:
          throw corrupt("filter type " + (filterType & 0xff));
      }
    }

    // Sub, Average and Paeth depend on the byte bpp to the left, just written. Their loops step by
    // bpp, a variable, and keep the left neighbours in registers: C2 (JDK 17) does not unroll or
    // vectorize a loop whose stride is not a constant, and its SuperWord vectorization of such
    // in-place byte loops with a constant stride runs several times slower than scalar code.
    // 8-bit RGB and RGBA (lanes 3 and 4) have loops of their own, one dependency chain per
    // channel, which the CPU overlaps; other widths run one channel after the other. The loops
    // test lanes, never bpp, so that the compiler cannot learn bpp's value and make it constant.

    /** Sub: each byte adds the one {@code bpp} to its left. */
    private static void unfilterSub(byte[] b, int row, int n, int bpp, int lanes) {
      int end = row + n;
      if (lanes != 0) {
        int x = 0;
        int y = 0;
        int z = 0;
        int w = 0;
        for (int i = row; i < end; i += bpp) {
          x += b[i];
          b[i] = (byte) x;
          y += b[i + 1];
          b[i + 1] = (byte) y;
          z += b[i + 2];
          b[i + 2] = (byte) z;
          if (lanes == 4) {
            w += b[i + 3];
            b[i + 3] = (byte) w;
          }
        }
        return;
      }
      for (int c = 0; c < bpp; c++) {
        int left = 0;
        for (int i = row + c; i < end; i += bpp) {
          left += b[i];
          b[i] = (byte) left;
        }
      }
    }

    /** Up: each byte adds the one above, eight bytes at a time, without carries between them. */
    private static void unfilterUp(byte[] b, int row, int previous, int n) {
      int i = 0;
      for (int whole = n - 7; i < whole; i += 8) {
        long x = (long) LONGS.get(b, row + i);
        long y = (long) LONGS.get(b, previous + i);
        LONGS.set(b, row + i, ((x & LOW_7_BITS) + (y & LOW_7_BITS)) ^ ((x ^ y) & HIGH_BITS));
      }
      for (; i < n; i++) {
        b[row + i] += b[previous + i];
      }
    }

    /** Average on the first row, where the row above is zeros. */
    private static void unfilterAverageFirst(byte[] b, int row, int n, int bpp) {
      int end = row + n;
      for (int c = 0; c < bpp; c++) {
        int left = 0;
        for (int i = row + c; i < end; i += bpp) {
          left = (b[i] + (left >>> 1)) & 0xff;
          b[i] = (byte) left;
        }
      }
    }

    /** Average: each byte adds the floor of the mean of the bytes to its left and above. */
    private static void unfilterAverage(
        byte[] b, int row, int previous, int n, int bpp, int lanes) {
      int end = row + n;
      int up = previous - row;
      if (lanes != 0) {
        int x = 0;
        int y = 0;
        int z = 0;
        int w = 0;
        for (int i = row; i < end; i += bpp) {
          x = (b[i] + ((x + (b[i + up] & 0xff)) >>> 1)) & 0xff;
          b[i] = (byte) x;
          y = (b[i + 1] + ((y + (b[i + 1 + up] & 0xff)) >>> 1)) & 0xff;
          b[i + 1] = (byte) y;
          z = (b[i + 2] + ((z + (b[i + 2 + up] & 0xff)) >>> 1)) & 0xff;
          b[i + 2] = (byte) z;
          if (lanes == 4) {
            w = (b[i + 3] + ((w + (b[i + 3 + up] & 0xff)) >>> 1)) & 0xff;
            b[i + 3] = (byte) w;
          }
        }
        return;
      }
      for (int c = 0; c < bpp; c++) {
        int left = 0;
        for (int i = row + c; i < end; i += bpp) {
          left = (b[i] + ((left + (b[i + up] & 0xff)) >>> 1)) & 0xff;
          b[i] = (byte) left;
        }
      }
    }

    /**
     * Paeth: each byte adds the {@link #paeth} predictor of its left, upper and upper-left bytes.
     */
    private static void unfilterPaeth(byte[] b, int row, int previous, int n, int bpp, int lanes) {
      int end = row + n;
      int up = previous - row;
      if (lanes != 0) {
        int x = 0; // the left bytes
        int y = 0;
        int z = 0;
        int w = 0;
        int cx = 0; // the upper-left bytes
        int cy = 0;
        int cz = 0;
        int cw = 0;
        for (int i = row; i < end; i += bpp) {
          int ux = b[i + up] & 0xff;
          int uy = b[i + 1 + up] & 0xff;
          int uz = b[i + 2 + up] & 0xff;
          x = (b[i] + paeth(x, ux, cx)) & 0xff;
          b[i] = (byte) x;
          y = (b[i + 1] + paeth(y, uy, cy)) & 0xff;
          b[i + 1] = (byte) y;
          z = (b[i + 2] + paeth(z, uz, cz)) & 0xff;
          b[i + 2] = (byte) z;
          cx = ux;
          cy = uy;
          cz = uz;
          if (lanes == 4) {
            int uw = b[i + 3 + up] & 0xff;
            w = (b[i + 3] + paeth(w, uw, cw)) & 0xff;
            b[i + 3] = (byte) w;
            cw = uw;
          }
        }
        return;
      }
      for (int c = 0; c < bpp; c++) {
        int left = 0;
        int upperLeft = 0;
        for (int i = row + c; i < end; i += bpp) {
          int above = b[i + up] & 0xff;
          left = (b[i] + paeth(left, above, upperLeft)) & 0xff;
          b[i] = (byte) left;
          upperLeft = above;
        }
      }
    }

    /**
     * Of left (a), above (b) and upper left (c), the one nearest to a + b - c, preferring a, then
     * b; chosen without branches, which the noise of photographs mispredicts.
     */
    private static int paeth(int a, int b, int c) {
      int p = b - c;
      int q = a - c;
      int pa = Math.abs(p);
      int pb = Math.abs(q);
      int pc = Math.abs(p + q);
      int notA = ((pb - pa) | (pc - pa)) >> 31; // -1 unless pa <= pb and pa <= pc
      int bOrC = b ^ ((b ^ c) & ((pc - pb) >> 31)); // pb <= pc ? b : c
      return a ^ ((a ^ bOrC) & notA);
    }

    /** Packs the {@code cols} unfiltered pixels at {@code row} to {@code out[dst + i * dx]}. */
    private void convertRow(byte[] b, int row, int cols, int[] out, int dst, int dx) {
      switch (colourType) {
        case RGB:
        case RGBA:
          if (bitDepth == 8) {
            // one big-endian int holds R, G, B and the next byte: alpha, the next pixel's red or,
            // for the last pixel of a row of RGB, the byte after the row, which may not exist
            int step = bitsPerPixel / 8;
            int whole = colourType == RGBA ? cols : cols - 1;
            int p = row;
            for (int i = 0; i < whole; i++, p += step, dst += dx) {
              out[dst] = (int) INTS.get(b, p) >>> 8;
            }
            if (whole < cols) {
              out[dst] = (b[p] & 0xff) << 16 | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff);
            }
            break;
          }
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
    return new ImageRefused(Reason.TRUNCATED, "truncated PNG: " + what);
  }
}

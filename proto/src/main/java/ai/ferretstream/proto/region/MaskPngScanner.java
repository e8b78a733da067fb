package ai.ferretstream.proto.region;

import ai.ferretstream.proto.failure.PermanentFailure;
import com.google.protobuf.ByteString;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Reads a {@code mask_png} region row by row, for fusion (the mask itself) and the llm service (its
 * bounding box): a PNG at the original image size (as displayed, EXIF orientation applied) where a
 * pixel is inside the region when any of its stored colour samples is non-zero, i.e. the grey value
 * (grey, grey + alpha), the palette index (indexed colour, not the palette colour it names) or any
 * of red, green and blue. Alpha, whether an alpha channel or a {@code tRNS} chunk, is ignored. Any
 * PNG bit depth and colour type, interlaced or not.
 *
 * <p>Checked before anything is decoded: at most {@value #MAX_ENCODED_BYTES} encoded bytes, the PNG
 * signature and an {@code IHDR} whose width and height equal the image's. Decoding goes through
 * {@code javax.imageio} in horizontal strips of at most {@value #STRIP_BUDGET_BYTES} decoded bytes,
 * so a large colour mask never sits in memory whole. Every failure is a {@link PermanentFailure}
 * with code {@code invalid_region}.
 */
public final class MaskPngScanner {

  /** Largest encoded mask accepted. */
  public static final int MAX_ENCODED_BYTES = 8 * 1024 * 1024;

  /** Decoded bytes one strip may take. */
  public static final long STRIP_BUDGET_BYTES = 16L * 1024 * 1024;

  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  /** Signature, IHDR length and type, 13 bytes of IHDR data. */
  private static final int HEADER_BYTES = 8 + 4 + 4 + 13;

  private MaskPngScanner() {}

  /**
   * One decoded row: {@code samples[x]} is the OR of the colour samples of pixel {@code (x, y)}.
   */
  public interface Rows {
    void row(int y, int[] samples);
  }

  /** What the IHDR chunk says. */
  public record Header(int width, int height, int bitDepth, int colourType, int interlace) {

    /** Colour samples per pixel, alpha excluded: the bands to read. */
    public int colourBands() {
      return colourType == 2 || colourType == 6 ? 3 : 1;
    }

    /** Upper bound of the decoded bytes of one pixel (a tRNS chunk may add an alpha band). */
    public int decodedBytesPerPixel() {
      int bands =
          switch (colourType) {
            case 3 -> 1; // palette index; tRNS goes into the colour model
            case 0, 4 -> 2; // grey, alpha or tRNS
            default -> 4; // red, green, blue, alpha or tRNS
          };
      return bands * (bitDepth == 16 ? 2 : 1);
    }
  }

  /**
   * {@link #scan} for a mask that must mark something: fails when no pixel of {@code png} has a
   * non-zero colour sample.
   *
   * @throws PermanentFailure {@code invalid_region} as {@link #scan} does, and when the mask has no
   *     inside pixel
   */
  public static void scanInside(
      ByteString png, int width, int height, long stripBudget, Rows rows) {
    boolean[] inside = {false};
    scan(
        png,
        width,
        height,
        stripBudget,
        (y, samples) -> {
          if (!inside[0]) {
            for (int x = 0; x < width && !inside[0]; x++) {
              inside[0] = samples[x] != 0;
            }
          }
          rows.row(y, samples);
        });
    if (!inside[0]) {
      throw new PermanentFailure(
          "invalid_region", "mask_png has no inside pixel (every colour sample is zero)");
    }
  }

  /**
   * Checks {@code png} and hands every row to {@code rows}, top to bottom.
   *
   * @throws PermanentFailure {@code invalid_region} when the bytes are too many, not a PNG, a PNG
   *     of another size or undecodable
   */
  public static void scan(ByteString png, int width, int height, long stripBudget, Rows rows) {
    Header header = header(png);
    if (header.width() != width || header.height() != height) {
      throw new PermanentFailure(
          "invalid_region",
          "mask_png is "
              + Integer.toUnsignedString(header.width())
              + "x"
              + Integer.toUnsignedString(header.height())
              + " but the image is "
              + width
              + "x"
              + height
              + " (as displayed, EXIF orientation applied); a mask must have the image's size");
    }
    ImageReader reader = pngReader();
    try (ImageInputStream in = new MemoryCacheImageInputStream(png.newInput())) {
      reader.setInput(in, false, true);
      if (reader.getWidth(0) != width || reader.getHeight(0) != height) {
        throw new PermanentFailure("invalid_region", "mask_png size differs from its IHDR");
      }
      long rowBytes = (long) width * header.decodedBytesPerPixel();
      int stripRows = (int) Math.max(1, Math.min(height, stripBudget / rowBytes));
      int bands = header.colourBands();
      int[] samples = new int[width];
      int[] band = bands > 1 ? new int[width] : samples;
      ImageReadParam param = reader.getDefaultReadParam();
      for (int y0 = 0; y0 < height; y0 += stripRows) {
        int strip = Math.min(stripRows, height - y0);
        param.setSourceRegion(new Rectangle(0, y0, width, strip));
        BufferedImage image = reader.read(0, param);
        Raster raster = image.getRaster();
        if (raster.getWidth() != width
            || raster.getHeight() != strip
            || raster.getNumBands() < bands) {
          throw new PermanentFailure(
              "invalid_region", "mask_png decoded to an unexpected raster: " + raster);
        }
        for (int dy = 0; dy < strip; dy++) {
          int ry = raster.getMinY() + dy;
          raster.getSamples(raster.getMinX(), ry, width, 1, 0, samples);
          for (int b = 1; b < bands; b++) {
            raster.getSamples(raster.getMinX(), ry, width, 1, b, band);
            for (int x = 0; x < width; x++) {
              samples[x] |= band[x];
            }
          }
          rows.row(y0 + dy, samples);
        }
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof PermanentFailure failure) {
        throw failure;
      }
      throw new PermanentFailure(
          "invalid_region", "mask_png could not be decoded: " + e.getMessage(), e);
    } finally {
      reader.dispose();
    }
  }

  /**
   * The IHDR of {@code png}, read without decoding anything.
   *
   * @throws PermanentFailure {@code invalid_region} when the bytes are too many, not a PNG or have
   *     an invalid IHDR
   */
  public static Header header(ByteString png) {
    if (png.size() > MAX_ENCODED_BYTES) {
      throw new PermanentFailure(
          "invalid_region",
          "mask_png is " + png.size() + " bytes; at most " + MAX_ENCODED_BYTES + " are accepted");
    }
    if (png.size() < HEADER_BYTES) {
      throw new PermanentFailure(
          "invalid_region", "mask_png is not a PNG image (" + png.size() + " bytes)");
    }
    for (int i = 0; i < SIGNATURE.length; i++) {
      if (png.byteAt(i) != SIGNATURE[i]) {
        throw new PermanentFailure("invalid_region", "mask_png is not a PNG image (bad signature)");
      }
    }
    if (int32(png, 8) != 13
        || png.byteAt(12) != 'I'
        || png.byteAt(13) != 'H'
        || png.byteAt(14) != 'D'
        || png.byteAt(15) != 'R') {
      throw new PermanentFailure(
          "invalid_region", "mask_png is not a PNG image (no IHDR chunk first)");
    }
    int width = int32(png, 16);
    int height = int32(png, 20);
    int bitDepth = png.byteAt(24) & 0xff;
    int colourType = png.byteAt(25) & 0xff;
    int interlace = png.byteAt(28) & 0xff;
    if (width == 0 || height == 0) {
      throw new PermanentFailure("invalid_region", "mask_png has an empty IHDR size");
    }
    boolean valid =
        switch (colourType) {
          case 0 ->
              bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
          case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
          case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
          default -> false;
        };
    if (!valid || interlace > 1) {
      throw new PermanentFailure(
          "invalid_region",
          "mask_png has an invalid IHDR (colour type "
              + colourType
              + ", bit depth "
              + bitDepth
              + ", interlace "
              + interlace
              + ")");
    }
    return new Header(width, height, bitDepth, colourType, interlace);
  }

  private static int int32(ByteString b, int at) {
    return (b.byteAt(at) & 0xff) << 24
        | (b.byteAt(at + 1) & 0xff) << 16
        | (b.byteAt(at + 2) & 0xff) << 8
        | (b.byteAt(at + 3) & 0xff);
  }

  private static ImageReader pngReader() {
    Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("png");
    if (!readers.hasNext()) {
      throw new IllegalStateException("no PNG reader in javax.imageio");
    }
    return readers.next();
  }
}

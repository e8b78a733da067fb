package ai.ferretstream.tiler.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes PNG, JPEG, GIF (first frame) and BMP into 8-bit RGB the way Pillow's {@code
 * convert('RGB')} sees them: alpha dropped (not composited), palettes expanded, grey replicated to
 * three channels. Limits are enforced before any pixel is decoded: the encoded size first, then the
 * pixel count from the image header.
 *
 * <p>Every failure is a {@link PermanentFailure}: {@code image_too_large} for images over a limit,
 * {@code invalid_image} for empty, corrupt, truncated or unsupported input.
 */
public final class ImageDecoder {

  /** Error code of images above the size limits. */
  public static final String TOO_LARGE = "image_too_large";

  /** Error code of input that is not a decodable image. */
  public static final String INVALID = "invalid_image";

  private static final Set<String> FORMATS = Set.of("png", "jpeg", "gif", "bmp");

  private final long maxEncodedBytes;
  private final long maxPixels;

  /**
   * @param maxEncodedBytes largest accepted encoded image
   * @param maxPixels largest accepted width x height
   */
  public ImageDecoder(long maxEncodedBytes, long maxPixels) {
    if (maxEncodedBytes < 1 || maxPixels < 1) {
      throw new IllegalArgumentException("image limits must be positive");
    }
    this.maxEncodedBytes = maxEncodedBytes;
    this.maxPixels = maxPixels;
  }

  /** Fails with {@code image_too_large} when {@code size} encoded bytes exceed the limit. */
  public void checkEncodedSize(long size) {
    if (size > maxEncodedBytes) {
      throw new PermanentFailure(
          TOO_LARGE, "the image is " + size + " bytes; the limit is " + maxEncodedBytes + " bytes");
    }
  }

  public RgbImage decode(byte[] encoded) {
    if (encoded.length == 0) {
      throw new PermanentFailure(INVALID, "the image is empty (0 bytes)");
    }
    checkEncodedSize(encoded.length);
    // no disk cache: the bytes are in memory already and temp files are global JVM state
    try (ImageInputStream input =
        new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
      ImageReader reader = readerFor(input);
      try {
        reader.setInput(input, true, true);
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkDimensions(width, height);
        TruncationListener truncation = new TruncationListener();
        reader.addIIOReadWarningListener(truncation);
        BufferedImage image = reader.read(0);
        if (truncation.message != null) {
          throw new PermanentFailure(
              INVALID, "the image data is truncated (" + truncation.message + ")");
        }
        if (image.getWidth() != width || image.getHeight() != height) {
          throw new PermanentFailure(
              INVALID,
              "the decoded image is "
                  + image.getWidth()
                  + "x"
                  + image.getHeight()
                  + " but its header says "
                  + width
                  + "x"
                  + height);
        }
        return toRgb(image);
      } finally {
        reader.dispose();
      }
    } catch (PermanentFailure e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      // ImageIO readers report corrupt data as IIOException and, for some inputs, as runtime
      // exceptions from inside the codec
      throw new PermanentFailure(INVALID, "the image could not be decoded: " + describe(e), e);
    }
  }

  private static ImageReader readerFor(ImageInputStream input) throws IOException {
    Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
    while (readers.hasNext()) {
      ImageReader reader = readers.next();
      String format = reader.getFormatName().toLowerCase(Locale.ROOT);
      if (FORMATS.contains(format)) {
        return reader;
      }
      reader.dispose();
    }
    throw new PermanentFailure(
        INVALID, "the bytes are not a PNG, JPEG, GIF or BMP image (unrecognised format)");
  }

  private void checkDimensions(int width, int height) {
    if (width < 1 || height < 1) {
      throw new PermanentFailure(
          INVALID, "the image header gives an empty size " + width + "x" + height);
    }
    long pixels = (long) width * height;
    if (pixels > maxPixels) {
      throw new PermanentFailure(
          TOO_LARGE,
          "the image is "
              + width
              + "x"
              + height
              + " = "
              + pixels
              + " pixels; the limit is "
              + maxPixels
              + " pixels");
    }
  }

  private static String describe(Exception e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }

  /** Converts any decoded image to packed 8-bit RGB without per-pixel objects. */
  static RgbImage toRgb(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    if (cm instanceof IndexColorModel palette) {
      expandPalette(raster, palette, out);
    } else if (isInterleaved8Bit(raster) // raw samples: like Pillow, no colour management
        && cm.getColorSpace().getType() == ColorSpace.TYPE_RGB
        && raster.getNumBands() >= 3) {
      copyInterleavedRgb(raster, out);
    } else if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && raster.getNumBands() <= 2) {
      replicateGrey(raster, cm.getComponentSize(0), out);
    } else {
      convertViaJava2d(image, out);
    }
    return new RgbImage(width, height, out);
  }

  private static boolean isInterleaved8Bit(Raster raster) {
    return raster.getDataBuffer() instanceof DataBufferByte buffer
        && buffer.getNumBanks() == 1
        && raster.getSampleModel() instanceof ComponentSampleModel
        && raster.getSampleModel().getDataType() == DataBuffer.TYPE_BYTE
        && raster.getSampleModelTranslateX() == 0
        && raster.getSampleModelTranslateY() == 0;
  }

  private static void copyInterleavedRgb(Raster raster, byte[] out) {
    ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
    byte[] data = ((DataBufferByte) raster.getDataBuffer()).getData();
    int base = raster.getDataBuffer().getOffset();
    int pixelStride = sm.getPixelStride();
    int scanline = sm.getScanlineStride();
    int[] bands = sm.getBandOffsets();
    int r = bands[0];
    int g = bands[1];
    int b = bands[2];
    int width = raster.getWidth();
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      int p = base + y * scanline;
      for (int x = 0; x < width; x++, p += pixelStride) {
        out[o++] = data[p + r];
        out[o++] = data[p + g];
        out[o++] = data[p + b];
      }
    }
  }

  private static void expandPalette(Raster raster, IndexColorModel palette, byte[] out) {
    int size = palette.getMapSize();
    byte[] reds = new byte[size];
    byte[] greens = new byte[size];
    byte[] blues = new byte[size];
    palette.getReds(reds);
    palette.getGreens(greens);
    palette.getBlues(blues);
    int width = raster.getWidth();
    int[] row = new int[width];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
      for (int x = 0; x < width; x++) {
        int i = Math.min(row[x], size - 1); // out-of-range indices clamp, as in Pillow
        out[o++] = reds[i];
        out[o++] = greens[i];
        out[o++] = blues[i];
      }
    }
  }

  private static void replicateGrey(Raster raster, int bits, byte[] out) {
    int shift = Math.max(bits - 8, 0);
    int width = raster.getWidth();
    int[] row = new int[width];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
      for (int x = 0; x < width; x++) {
        int v = bits < 8 ? row[x] * 255 / ((1 << bits) - 1) : row[x] >> shift;
        byte grey = (byte) v;
        out[o++] = grey;
        out[o++] = grey;
        out[o++] = grey;
      }
    }
  }

  private static void convertViaJava2d(BufferedImage image, byte[] out) {
    int width = image.getWidth();
    int[] row = new int[width];
    int o = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      image.getRGB(0, y, width, 1, row, 0, width); // non-premultiplied sRGB; alpha ignored below
      for (int x = 0; x < width; x++) {
        int argb = row[x];
        out[o++] = (byte) (argb >> 16);
        out[o++] = (byte) (argb >> 8);
        out[o++] = (byte) argb;
      }
    }
  }

  /** Remembers libjpeg's "premature end" warning, which Pillow treats as an error. */
  private static final class TruncationListener
      implements javax.imageio.event.IIOReadWarningListener {
    private String message;

    @Override
    public void warningOccurred(ImageReader source, String warning) {
      if (message == null
          && warning != null
          && warning.toLowerCase(Locale.ROOT).contains("premature end")) {
        message = warning;
      }
    }
  }
}

package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.proto.image.ImageFormat;
import ai.ferretstream.proto.image.ImageHeader;
import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes JPEG (baseline, progressive, grey, CMYK/YCCK), PNG (1- to 16-bit, grey, palette, alpha,
 * interlaced), GIF (first frame), BMP and WebP into packed 8-bit RGB the way Pillow's {@code
 * ImageOps.exif_transpose(im).convert('RGB')} sees them: EXIF orientation applied, alpha dropped
 * (not composited), palettes expanded, grey replicated, 16-bit samples cut to their high byte
 * (grey: clamped to 255, as Pillow's {@code I} → {@code RGB}), CMYK converted with Pillow's
 * formula, no colour management.
 *
 * <p>Limits come first and cost nothing: the encoded size, then the format from the signature
 * bytes, then the pixel count from the image header, all before any pixel is decoded, so a
 * decompression bomb (a few KB claiming 60000x60000) is refused in microseconds. Every refusal is
 * an {@link ImageRefused} with a specific {@link Reason}.
 */
public final class ImageDecoder {

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

  /** Fails with {@code too_many_bytes} when {@code size} encoded bytes exceed the limit. */
  public void checkEncodedSize(long size) {
    if (size > maxEncodedBytes) {
      throw new ImageRefused(
          Reason.TOO_MANY_BYTES,
          "the image is " + size + " bytes; the limit is " + maxEncodedBytes + " bytes");
    }
  }

  /** The image as displayed, in packed 8-bit RGB. */
  public PackedImage decode(byte[] encoded) {
    return decodeWithInfo(encoded).image();
  }

  /** The image as displayed, with what was learnt on the way. */
  public Decoded decodeWithInfo(byte[] encoded) {
    if (encoded.length == 0) {
      throw new ImageRefused(Reason.EMPTY, "the image is empty (0 bytes)");
    }
    checkEncodedSize(encoded.length);
    ImageHeader header = ImageHeader.read(encoded);
    if (header == null) {
      String other = ImageFormat.describeOther(encoded);
      throw new ImageRefused(
          Reason.UNSUPPORTED_FORMAT,
          (other != null
                  ? "the image is " + other + ", which is not supported"
                  : "unrecognised format")
              + "; send JPEG, PNG, GIF, BMP or WebP");
    }
    ImageFormat format = header.format();
    if (header.hasSize()) {
      // our own header parse, before any codec runs: the codec's view is checked again below
      checkDimensions(header.width(), header.height());
    }
    PackedImage stored;
    if (format == ImageFormat.PNG) {
      // our own decoder: one inflate into one buffer, no ImageIO rasters
      stored = PngDecoder.decode(encoded, this::checkDimensions);
      return new Decoded(
          Orientation.apply(stored, header.orientation()), format, header.orientation());
    }
    // no disk cache: the bytes are in memory already and temp files are global JVM state
    try (ImageInputStream input =
        new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
      ImageReader reader = readerFor(input, format);
      try {
        reader.setInput(input, true, true);
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkDimensions(width, height);
        GifScreen screen = null;
        if (format == ImageFormat.GIF) {
          screen = GifScreen.of(reader, width, height);
          checkDimensions(screen.width(), screen.height());
        }
        Truncation truncation = new Truncation();
        reader.addIIOReadWarningListener(truncation);
        if (format == ImageFormat.JPEG && header.jpegComponents() == 4) {
          Raster raster = reader.readRaster(0, null);
          truncation.check();
          checkSize(raster.getWidth(), raster.getHeight(), width, height);
          stored = PixelConversion.fromCmyk(raster, header.adobeTransform());
        } else {
          BufferedImage image = reader.read(0);
          truncation.check();
          checkSize(image.getWidth(), image.getHeight(), width, height);
          stored = PixelConversion.toPacked(image);
          if (screen != null) {
            stored = screen.compose(stored, image.getColorModel());
          }
        }
      } finally {
        reader.dispose();
      }
    } catch (ImageRefused e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      // ImageIO readers report corrupt data as IIOException and, for some inputs, as runtime
      // exceptions from inside the codec; running out of data is a truncated image
      throw new ImageRefused(
          endsEarly(e) ? Reason.TRUNCATED : Reason.CORRUPT,
          "the " + format.name() + " image could not be decoded: " + describe(e),
          e);
    } catch (OutOfMemoryError e) {
      throw new ImageRefused(
          Reason.TOO_MANY_PIXELS,
          "the " + format.name() + " image needs more memory to decode than this tiler has");
    }
    return new Decoded(
        Orientation.apply(stored, header.orientation()), format, header.orientation());
  }

  private static ImageReader readerFor(ImageInputStream input, ImageFormat format)
      throws IOException {
    String wanted = format.name().toLowerCase(Locale.ROOT);
    Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
    while (readers.hasNext()) {
      ImageReader reader = readers.next();
      if (reader.getFormatName().toLowerCase(Locale.ROOT).equals(wanted)) {
        return reader;
      }
      reader.dispose();
    }
    throw new ImageRefused(
        Reason.CORRUPT, "the " + format.name() + " image has a bad header (no reader accepts it)");
  }

  private void checkDimensions(int width, int height) {
    if (width < 1 || height < 1) {
      throw new ImageRefused(
          Reason.BAD_DIMENSIONS, "the image header gives an empty size " + width + "x" + height);
    }
    long pixels = (long) width * height;
    if (pixels > maxPixels) {
      throw new ImageRefused(
          Reason.TOO_MANY_PIXELS,
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

  private static void checkSize(int width, int height, int headerWidth, int headerHeight) {
    if (width != headerWidth || height != headerHeight) {
      throw new ImageRefused(
          Reason.CORRUPT,
          "the decoded image is "
              + width
              + "x"
              + height
              + " but its header says "
              + headerWidth
              + "x"
              + headerHeight);
    }
  }

  private static boolean endsEarly(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.io.EOFException) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }

  /**
   * A decoded image.
   *
   * @param image pixels as displayed
   * @param format the container format
   * @param orientation the EXIF orientation that was applied (1 = none)
   */
  public record Decoded(PackedImage image, ImageFormat format, int orientation) {}

  /** Remembers libjpeg's "premature end" warning, which Pillow treats as an error. */
  private static final class Truncation implements IIOReadWarningListener {
    private String message;

    @Override
    public void warningOccurred(ImageReader source, String warning) {
      if (message == null
          && warning != null
          && warning.toLowerCase(Locale.ROOT).contains("premature end")) {
        message = warning;
      }
    }

    void check() {
      if (message != null) {
        throw new ImageRefused(Reason.TRUNCATED, "the image data is truncated (" + message + ")");
      }
    }
  }
}

package ai.ferretstream.testsupport;

import com.google.protobuf.ByteString;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Mask PNGs for tests, in every PNG colour type. */
public final class MaskPngs {

  /** Whether pixel {@code (x, y)} is inside. */
  public interface Shape {
    boolean inside(int x, int y);
  }

  private MaskPngs() {}

  /** 8-bit grey, 255 inside, 0 outside. */
  public static BufferedImage grey(int width, int height, Shape shape) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        r.setSample(x, y, 0, shape.inside(x, y) ? 255 : 0);
      }
    }
    return image;
  }

  /** 16-bit grey, 1 inside (the smallest non-zero value), 0 outside. */
  public static BufferedImage grey16(int width, int height, Shape shape) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        r.setSample(x, y, 0, shape.inside(x, y) ? 1 : 0);
      }
    }
    return image;
  }

  /** 1-bit grey. */
  public static BufferedImage binary(int width, int height, Shape shape) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_BINARY);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        r.setSample(x, y, 0, shape.inside(x, y) ? 1 : 0);
      }
    }
    return image;
  }

  /**
   * 8-bit palette whose index 0 is white and index 1 black: inside pixels have the non-zero index 1
   * although their colour is black.
   */
  public static BufferedImage palette(int width, int height, Shape shape) {
    byte[] red = {(byte) 255, 0, 10};
    byte[] green = {(byte) 255, 0, 20};
    byte[] blue = {(byte) 255, 0, 30};
    IndexColorModel model = new IndexColorModel(8, 3, red, green, blue);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED, model);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        r.setSample(x, y, 0, shape.inside(x, y) ? 1 : 0);
      }
    }
    return image;
  }

  /** 8-bit RGB: inside pixels have exactly one non-zero channel, cycling red, green, blue. */
  public static BufferedImage rgb(int width, int height, Shape shape) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int band = (x + y) % 3;
        for (int b = 0; b < 3; b++) {
          r.setSample(x, y, b, shape.inside(x, y) && b == band ? 1 : 0);
        }
      }
    }
    return image;
  }

  /**
   * 8-bit RGBA where alpha contradicts the mask: inside pixels are fully transparent, outside ones
   * opaque black.
   */
  public static BufferedImage rgba(int width, int height, Shape shape) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_4BYTE_ABGR);
    WritableRaster r = image.getRaster();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        boolean in = shape.inside(x, y);
        r.setSample(x, y, 0, in ? 200 : 0);
        r.setSample(x, y, 1, in ? 200 : 0);
        r.setSample(x, y, 2, in ? 200 : 0);
        r.setSample(x, y, 3, in ? 0 : 255);
      }
    }
    return image;
  }

  /** 8-bit grey + alpha, alpha contradicting the mask as in {@link #rgba}. */
  public static BufferedImage greyAlpha(int width, int height, Shape shape) {
    ComponentColorModel model =
        new ComponentColorModel(
            ColorSpace.getInstance(ColorSpace.CS_GRAY),
            true,
            false,
            Transparency.TRANSLUCENT,
            DataBuffer.TYPE_BYTE);
    WritableRaster r = model.createCompatibleWritableRaster(width, height);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        boolean in = shape.inside(x, y);
        r.setSample(x, y, 0, in ? 7 : 0);
        r.setSample(x, y, 1, in ? 0 : 255);
      }
    }
    return new BufferedImage(model, r, false, null);
  }

  public static ByteString png(BufferedImage image) {
    return png(image, false);
  }

  /** {@code image} as a PNG, Adam7-interlaced when asked. */
  public static ByteString png(BufferedImage image, boolean interlaced) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setProgressiveMode(
          interlaced ? ImageWriteParam.MODE_DEFAULT : ImageWriteParam.MODE_DISABLED);
      writer.write(null, new IIOImage(image, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return ByteString.copyFrom(bytes.toByteArray());
  }
}

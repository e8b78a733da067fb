package ai.ferretstream.testsupport;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/**
 * Test images drawn with {@code java.awt}: coloured rectangles on a plain background, whose colours
 * the dev models answer with, encoded as PNG.
 */
public final class TestImages {

  private TestImages() {}

  /** A {@code width x height} RGB image of one colour. */
  public static BufferedImage plain(int width, int height, Color colour) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    return fill(image, colour, 0, 0, width, height);
  }

  /** Fills the rectangle at {@code (x, y)} of size {@code w x h} with {@code colour}. */
  public static BufferedImage fill(BufferedImage image, Color colour, int x, int y, int w, int h) {
    Graphics2D g = image.createGraphics();
    g.setColor(colour);
    g.fillRect(x, y, w, h);
    g.dispose();
    return image;
  }

  /** Left half pure red, right half pure blue. */
  public static BufferedImage redAndBlue(int width, int height) {
    BufferedImage image = plain(width, height, Color.BLUE);
    return fill(image, Color.RED, 0, 0, width / 2, height);
  }

  /** The image as PNG bytes. */
  public static byte[] png(BufferedImage image) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}

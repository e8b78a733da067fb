package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.tiler.domain.PackedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * The logical screen a GIF's first frame is drawn on, as Pillow 9 loads it: the screen is the
 * header's logical screen, grown to hold the frame if the frame sticks out; pixels outside the
 * frame are palette entry {@code transparency index} if the frame has one, else entry 0 (shown
 * opaque after {@code convert('RGB')}).
 *
 * @param width screen width
 * @param height screen height
 * @param left frame position on the screen
 * @param top frame position on the screen
 */
record GifScreen(int width, int height, int left, int top) {

  private static final String STREAM_FORMAT = "javax_imageio_gif_stream_1.0";
  private static final String IMAGE_FORMAT = "javax_imageio_gif_image_1.0";

  /** Reads the screen and frame descriptors (headers only, no pixels). */
  static GifScreen of(ImageReader reader, int frameWidth, int frameHeight) throws IOException {
    int screenWidth = frameWidth;
    int screenHeight = frameHeight;
    int left = 0;
    int top = 0;
    IIOMetadata stream = reader.getStreamMetadata();
    Node screen =
        child(stream == null ? null : stream.getAsTree(STREAM_FORMAT), "LogicalScreenDescriptor");
    if (screen != null) {
      screenWidth = attribute(screen, "logicalScreenWidth", frameWidth);
      screenHeight = attribute(screen, "logicalScreenHeight", frameHeight);
    }
    Node frame = child(reader.getImageMetadata(0).getAsTree(IMAGE_FORMAT), "ImageDescriptor");
    if (frame != null) {
      left = attribute(frame, "imageLeftPosition", 0);
      top = attribute(frame, "imageTopPosition", 0);
    }
    return new GifScreen(
        Math.max(screenWidth, left + frameWidth),
        Math.max(screenHeight, top + frameHeight),
        left,
        top);
  }

  /** The frame drawn on the screen; the frame itself when it covers the screen exactly. */
  PackedImage compose(PackedImage frame, ColorModel colours) {
    if (left == 0 && top == 0 && frame.width() == width && frame.height() == height) {
      return frame;
    }
    int fill = 0;
    if (colours instanceof IndexColorModel palette) {
      int index = Math.max(palette.getTransparentPixel(), 0);
      if (index < palette.getMapSize()) {
        fill = palette.getRGB(index) & 0xffffff;
      }
    }
    int[] pixels = new int[Math.multiplyExact(width, height)];
    java.util.Arrays.fill(pixels, fill);
    PackedImage screen = new PackedImage(width, height, pixels);
    screen.paste(frame, left, top);
    return screen;
  }

  private static Node child(Node parent, String name) {
    if (parent == null) {
      return null;
    }
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (name.equals(n.getNodeName())) {
        return n;
      }
    }
    return null;
  }

  private static int attribute(Node node, String name, int fallback) {
    NamedNodeMap attributes = node.getAttributes();
    Node value = attributes == null ? null : attributes.getNamedItem(name);
    if (value == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.getNodeValue());
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}

package ai.ferretstream.tiler.domain;

/**
 * An 8-bit RGB image, row-major, three bytes per pixel (R, G, B), no padding. The pixel array is
 * shared, not copied: callers must not modify it after handing it over.
 */
public final class RgbImage {

  private final int width;
  private final int height;
  private final byte[] pixels;

  public RgbImage(int width, int height, byte[] pixels) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    if (pixels.length != Math.multiplyExact(Math.multiplyExact(width, height), 3)) {
      throw new IllegalArgumentException(
          "a "
              + width
              + "x"
              + height
              + " RGB image needs "
              + (3L * width * height)
              + " bytes, got "
              + pixels.length);
    }
    this.width = width;
    this.height = height;
    this.pixels = pixels;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  /** The packed RGB bytes (not a copy). */
  public byte[] pixels() {
    return pixels;
  }

  /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
  public int sample(int x, int y, int c) {
    return pixels[(y * width + x) * 3 + c] & 0xff;
  }
}

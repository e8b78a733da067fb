package ai.ferretstream.tiler.domain;

/**
 * An 8-bit RGB image with one {@code int} per pixel, {@code 0x00RRGGBB}, row-major, no padding: the
 * working format of decoding and resampling (one load per pixel, no per-pixel objects). The pixel
 * array is shared, not copied: callers must not modify it after handing it over.
 */
public final class PackedImage {

  private final int width;
  private final int height;
  private final int[] pixels;

  public PackedImage(int width, int height, int[] pixels) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    if (pixels.length != Math.multiplyExact(width, height)) {
      throw new IllegalArgumentException(
          "a " + width + "x" + height + " image needs " + ((long) width * height) + " pixels");
    }
    this.width = width;
    this.height = height;
    this.pixels = pixels;
  }

  /** A black image. */
  public static PackedImage black(int width, int height) {
    return new PackedImage(width, height, new int[Math.multiplyExact(width, height)]);
  }

  /** Packs three-byte RGB pixels. */
  public static PackedImage of(RgbImage rgb) {
    byte[] in = rgb.pixels();
    int[] out = new int[rgb.width() * rgb.height()];
    for (int i = 0, p = 0; i < out.length; i++, p += 3) {
      out[i] = (in[p] & 0xff) << 16 | (in[p + 1] & 0xff) << 8 | (in[p + 2] & 0xff);
    }
    return new PackedImage(rgb.width(), rgb.height(), out);
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  /** The packed pixels (not a copy). */
  public int[] pixels() {
    return pixels;
  }

  /** Copies {@code src} into this image with its top-left corner at ({@code x}, {@code y}). */
  public void paste(PackedImage src, int x, int y) {
    if (x < 0 || y < 0 || x + src.width > width || y + src.height > height) {
      throw new IllegalArgumentException(
          "a "
              + src.width
              + "x"
              + src.height
              + " image at ("
              + x
              + ","
              + y
              + ") does not fit in "
              + width
              + "x"
              + height);
    }
    for (int row = 0; row < src.height; row++) {
      System.arraycopy(src.pixels, row * src.width, pixels, (y + row) * width + x, src.width);
    }
  }

  /** The rectangle {@code rect}, which must lie inside the image, as three-byte RGB. */
  public RgbImage cropRgb(PixelRect rect) {
    if (rect.x0() < 0
        || rect.y0() < 0
        || rect.x1() > width
        || rect.y1() > height
        || rect.width() < 1
        || rect.height() < 1) {
      throw new IllegalArgumentException(
          "crop " + rect + " outside a " + width + "x" + height + " image");
    }
    int w = rect.width();
    byte[] out = new byte[Math.multiplyExact(w * rect.height(), 3)];
    int o = 0;
    for (int y = rect.y0(); y < rect.y1(); y++) {
      int p = y * width + rect.x0();
      for (int x = 0; x < w; x++) {
        int v = pixels[p + x];
        out[o] = (byte) (v >> 16);
        out[o + 1] = (byte) (v >> 8);
        out[o + 2] = (byte) v;
        o += 3;
      }
    }
    return new RgbImage(w, rect.height(), out);
  }

  /** The whole image as three-byte RGB. */
  public RgbImage toRgb() {
    return cropRgb(new PixelRect(0, 0, width, height));
  }
}

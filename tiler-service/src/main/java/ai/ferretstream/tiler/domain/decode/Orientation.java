package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.tiler.domain.PackedImage;

/**
 * Applies an EXIF orientation so the image is as displayed, like Pillow's {@code
 * ImageOps.exif_transpose}: 2 mirror left-right, 3 rotate 180°, 4 mirror top-bottom, 5 transpose, 6
 * rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
 */
final class Orientation {

  private Orientation() {}

  static PackedImage apply(PackedImage in, int orientation) {
    if (orientation <= 1 || orientation > 8) {
      return in;
    }
    int w = in.width();
    int h = in.height();
    boolean swap = orientation >= 5;
    int ow = swap ? h : w;
    int oh = swap ? w : h;
    int[] src = in.pixels();
    int[] out = new int[src.length];
    for (int y = 0; y < oh; y++) {
      int o = y * ow;
      for (int x = 0; x < ow; x++) {
        // (sx, sy): the stored pixel shown at (x, y)
        int sx;
        int sy;
        switch (orientation) {
          case 2 -> {
            sx = w - 1 - x;
            sy = y;
          }
          case 3 -> {
            sx = w - 1 - x;
            sy = h - 1 - y;
          }
          case 4 -> {
            sx = x;
            sy = h - 1 - y;
          }
          case 5 -> {
            sx = y;
            sy = x;
          }
          case 6 -> {
            sx = y;
            sy = h - 1 - x;
          }
          case 7 -> {
            sx = w - 1 - y;
            sy = h - 1 - x;
          }
          default -> { // 8
            sx = w - 1 - y;
            sy = x;
          }
        }
        out[o + x] = src[sy * w + sx];
      }
    }
    return new PackedImage(ow, oh, out);
  }
}

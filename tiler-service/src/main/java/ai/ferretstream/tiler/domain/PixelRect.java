package ai.ferretstream.tiler.domain;

/**
 * A rectangle {@code [x0, x1) x [y0, y1)} in pixels.
 *
 * @param x0 left edge, inclusive
 * @param y0 top edge, inclusive
 * @param x1 right edge, exclusive
 * @param y1 bottom edge, exclusive
 */
public record PixelRect(int x0, int y0, int x1, int y1) {

  public int width() {
    return x1 - x0;
  }

  public int height() {
    return y1 - y0;
  }
}

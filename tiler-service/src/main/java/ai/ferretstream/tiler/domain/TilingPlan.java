package ai.ferretstream.tiler.domain;

/**
 * How one image is tiled: the image is fitted onto a canvas of {@code cols x rows} tiles
 * (stretched, or aspect-preserved and centred on black), which is cut row-major (top row left to
 * right, then the next row).
 *
 * @param imageWidth image width as displayed (EXIF orientation applied)
 * @param imageHeight image height as displayed
 * @param grid the chosen grid
 * @param tileSize edge of one square tile
 * @param mode how the image is fitted onto the canvas
 */
public record TilingPlan(
    int imageWidth, int imageHeight, Grid grid, int tileSize, ResizeMode mode) {

  public TilingPlan {
    if (imageWidth < 1 || imageHeight < 1 || tileSize < 1) {
      throw new IllegalArgumentException(
          "invalid plan: image " + imageWidth + "x" + imageHeight + ", tile " + tileSize);
    }
    if (mode == null) {
      throw new IllegalArgumentException("a plan needs a resize mode");
    }
  }

  /** A stretch plan. */
  public TilingPlan(int imageWidth, int imageHeight, Grid grid, int tileSize) {
    this(imageWidth, imageHeight, grid, tileSize, ResizeMode.STRETCH);
  }

  public int canvasWidth() {
    return grid.cols() * tileSize;
  }

  public int canvasHeight() {
    return grid.rows() * tileSize;
  }

  public int tileCount() {
    return grid.tileCount();
  }

  /** The whole canvas. */
  public PixelRect canvas() {
    return new PixelRect(0, 0, canvasWidth(), canvasHeight());
  }

  /** The whole original image. */
  public PixelRect image() {
    return new PixelRect(0, 0, imageWidth, imageHeight);
  }

  /**
   * Where the resized image lies on the canvas. Stretch: the whole canvas. Pad: LLaVA's {@code
   * resize_and_pad_image} in the same double operations: with {@code sw = cw/W} and {@code sh =
   * ch/H}, the side with the smaller scale fills the canvas and the other is {@code min(ceil(size *
   * scale), canvas)}; the result is centred at {@code ((cw - w) / 2, (ch - h) / 2)}, rounded down.
   */
  public PixelRect content() {
    int cw = canvasWidth();
    int ch = canvasHeight();
    if (mode == ResizeMode.STRETCH) {
      return canvas();
    }
    double scaleW = (double) cw / imageWidth;
    double scaleH = (double) ch / imageHeight;
    int w;
    int h;
    if (scaleW < scaleH) {
      w = cw;
      h = (int) Math.min(Math.ceil(imageHeight * scaleW), ch);
    } else {
      h = ch;
      w = (int) Math.min(Math.ceil(imageWidth * scaleH), cw);
    }
    int x = (cw - w) / 2;
    int y = (ch - h) / 2;
    return new PixelRect(x, y, x + w, y + h);
  }

  /** Local tile {@code index} (row-major) in canvas pixels. */
  public PixelRect canvasRect(int index) {
    if (index < 0 || index >= tileCount()) {
      throw new IndexOutOfBoundsException(
          "tile " + index + " of a " + grid + " grid (" + tileCount() + " tiles)");
    }
    int col = index % grid.cols();
    int row = index / grid.cols();
    return new PixelRect(
        col * tileSize, row * tileSize, (col + 1) * tileSize, (row + 1) * tileSize);
  }

  /**
   * Local tile {@code index} mapped back to original-image pixels: each canvas edge {@code e}
   * becomes {@code round((e - content_x0) * W / content_width)}, clamped to {@code [0, W]} (resp.
   * y, H), so outer edges are exactly 0 and W and a tile wholly in the padding maps to an empty
   * rectangle on the image border.
   */
  public PixelRect imageRect(int index) {
    PixelRect c = canvasRect(index);
    PixelRect content = content();
    return new PixelRect(
        toImage(c.x0(), content.x0(), content.width(), imageWidth),
        toImage(c.y0(), content.y0(), content.height(), imageHeight),
        toImage(c.x1(), content.x0(), content.width(), imageWidth),
        toImage(c.y1(), content.y0(), content.height(), imageHeight));
  }

  private static int toImage(int canvasEdge, int contentStart, int contentSize, int imageSize) {
    long scaled = (long) (canvasEdge - contentStart) * imageSize;
    // round half up, exactly, in integers
    long edge = Math.floorDiv(2 * scaled + contentSize, 2L * contentSize);
    return (int) Math.max(0, Math.min(imageSize, edge));
  }
}

package ai.ferretstream.tiler.domain;

/**
 * How one image is tiled: the image is stretched onto a canvas of {@code cols x rows} tiles, which
 * is cut row-major (top row left to right, then the next row).
 *
 * @param imageWidth original image width
 * @param imageHeight original image height
 * @param grid the chosen grid
 * @param tileSize edge of one square tile
 */
public record TilingPlan(int imageWidth, int imageHeight, Grid grid, int tileSize) {

  public TilingPlan {
    if (imageWidth < 1 || imageHeight < 1 || tileSize < 1) {
      throw new IllegalArgumentException(
          "invalid plan: image " + imageWidth + "x" + imageHeight + ", tile " + tileSize);
    }
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
   * Local tile {@code index} mapped back to original-image pixels: each edge is {@code
   * floor(canvas_edge * W / canvas_width)} (resp. H), so the last edge is exactly W (resp. H).
   */
  public PixelRect imageRect(int index) {
    PixelRect c = canvasRect(index);
    return new PixelRect(
        toImage(c.x0(), imageWidth, canvasWidth()),
        toImage(c.y0(), imageHeight, canvasHeight()),
        toImage(c.x1(), imageWidth, canvasWidth()),
        toImage(c.y1(), imageHeight, canvasHeight()));
  }

  private static int toImage(int canvasEdge, int imageSize, int canvasSize) {
    return (int) ((long) canvasEdge * imageSize / canvasSize);
  }
}

package ai.ferretstream.tiler.domain;

import java.util.List;

/**
 * Picks the any-resolution grid of an image like LLaVA's {@code select_best_resolution}: the
 * candidate canvas that keeps the most effective pixels (capped at the original area, so upscaling
 * gains nothing), and among those the one wasting the fewest canvas pixels; on a full tie the first
 * candidate in list order wins.
 */
public final class GridSelector {

  /**
   * Ferret-v2's grids (paper §3.2: 1x1..1x6, 2x2, 2x3 and their transposes) in this project's tie
   * order, as {@code <cols>x<rows>}.
   */
  public static final List<String> FERRET_V2 =
      List.of(
          "1x1", "1x2", "2x1", "1x3", "3x1", "1x4", "4x1", "1x5", "5x1", "1x6", "6x1", "2x2", "2x3",
          "3x2");

  /** Edge of the encoders' input tile: CLIP ViT-L/14 at 336 px gives a 24x24 token grid. */
  public static final int DEFAULT_TILE_SIZE = 336;

  private final List<Grid> candidates;
  private final int tileSize;

  /**
   * @param candidates grids in preference order (only the order of exact ties matters)
   * @param tileSize edge of one square tile in canvas pixels
   */
  public GridSelector(List<Grid> candidates, int tileSize) {
    if (candidates.isEmpty()) {
      throw new IllegalArgumentException("at least one grid candidate is needed");
    }
    if (tileSize < 1) {
      throw new IllegalArgumentException("tile size must be positive: " + tileSize);
    }
    this.candidates = List.copyOf(candidates);
    this.tileSize = tileSize;
  }

  /** Parses {@code <cols>x<rows>} candidates. */
  public static GridSelector of(List<String> grids, int tileSize) {
    return new GridSelector(grids.stream().map(Grid::parse).toList(), tileSize);
  }

  public int tileSize() {
    return tileSize;
  }

  public List<Grid> candidates() {
    return candidates;
  }

  /** The grid for an image of {@code width} x {@code height} pixels. */
  public Grid select(int width, int height) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    long originalArea = (long) width * height;
    Grid best = null;
    long bestEffective = -1;
    long bestWaste = Long.MAX_VALUE;
    for (Grid grid : candidates) {
      long canvasWidth = (long) grid.cols() * tileSize;
      long canvasHeight = (long) grid.rows() * tileSize;
      // the same double operations, in the same order, as the Python reference
      double scale = Math.min((double) canvasWidth / width, (double) canvasHeight / height);
      long downscaledWidth = (long) (width * scale);
      long downscaledHeight = (long) (height * scale);
      long effective = Math.min(downscaledWidth * downscaledHeight, originalArea);
      long waste = canvasWidth * canvasHeight - effective;
      if (effective > bestEffective || (effective == bestEffective && waste < bestWaste)) {
        best = grid;
        bestEffective = effective;
        bestWaste = waste;
      }
    }
    return best;
  }

  /** The tiling plan of an image: its grid, canvas and tile rectangles. */
  public TilingPlan plan(int width, int height) {
    return new TilingPlan(width, height, select(width, height), tileSize);
  }
}

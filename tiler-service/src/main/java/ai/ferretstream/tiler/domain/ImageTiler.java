package ai.ferretstream.tiler.domain;

import java.util.ArrayList;
import java.util.List;

/**
 * Ferret-v2 any-resolution tiling: picks the grid, stretches the image onto the grid canvas with
 * Pillow-bicubic resampling and cuts it row-major into square tiles; the global view is the whole
 * original image stretched to one tile.
 */
public final class ImageTiler {

  private final GridSelector grids;

  public ImageTiler(GridSelector grids) {
    this.grids = grids;
  }

  public int tileSize() {
    return grids.tileSize();
  }

  public TiledImage tile(RgbImage image) {
    TilingPlan plan = grids.plan(image.width(), image.height());
    int tileSize = plan.tileSize();
    RgbImage global = BicubicResizer.resize(image, tileSize, tileSize);
    RgbImage canvas = BicubicResizer.resize(image, plan.canvasWidth(), plan.canvasHeight());
    List<RgbImage> locals = new ArrayList<>(plan.tileCount());
    for (int k = 0; k < plan.tileCount(); k++) {
      locals.add(canvas.crop(plan.canvasRect(k)));
    }
    return new TiledImage(plan, global, locals);
  }

  /**
   * The result of tiling one image.
   *
   * @param plan grid, canvas and tile rectangles
   * @param global the original image stretched to one tile
   * @param locals the local tiles, row-major
   */
  public record TiledImage(TilingPlan plan, RgbImage global, List<RgbImage> locals) {
    public TiledImage {
      locals = List.copyOf(locals);
    }
  }
}

package ai.ferretstream.tiler.domain;

import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.BicubicResampler.Size;
import java.util.ArrayList;
import java.util.List;

/**
 * Ferret-v2 any-resolution tiling: picks the grid, fits the image onto the grid canvas with
 * Pillow-bicubic resampling (stretched, or aspect-preserved and centred on black) and cuts it
 * row-major into square tiles; the global view is the whole image stretched to one tile. The global
 * view and the canvas are resampled in one sweep over the source.
 */
public final class ImageTiler {

  private final GridSelector grids;
  private final ResizeMode mode;
  private final BicubicResampler resampler;

  /**
   * @param grids grid choice and tile size
   * @param mode how the image is fitted onto the canvas
   * @param resampler the bicubic resampler (kernels and threads)
   */
  public ImageTiler(GridSelector grids, ResizeMode mode, BicubicResampler resampler) {
    this.grids = grids;
    this.mode = mode;
    this.resampler = resampler;
  }

  /** A stretch tiler with the default resampler. */
  public ImageTiler(GridSelector grids) {
    this(grids, ResizeMode.STRETCH, BicubicResampler.defaults());
  }

  public int tileSize() {
    return grids.tileSize();
  }

  public ResizeMode mode() {
    return mode;
  }

  /** The resampling kernels' name ({@link BicubicResampler#kernels}). */
  public String kernels() {
    return resampler.kernels();
  }

  /** The plan this tiler follows for an image of the given size, without touching pixels. */
  public TilingPlan plan(int width, int height) {
    return new TilingPlan(width, height, grids.select(width, height), grids.tileSize(), mode);
  }

  public TiledImage tile(PackedImage image) {
    TilingPlan plan = plan(image.width(), image.height());
    int tileSize = plan.tileSize();
    PixelRect content = plan.content();
    List<PackedImage> resized =
        resampler.resizeAll(
            image,
            List.of(new Size(tileSize, tileSize), new Size(content.width(), content.height())));
    PackedImage canvas = resized.get(1);
    if (plan.mode() == ResizeMode.PAD
        && (content.width() != plan.canvasWidth() || content.height() != plan.canvasHeight())) {
      canvas = PackedImage.black(plan.canvasWidth(), plan.canvasHeight());
      canvas.paste(resized.get(1), content.x0(), content.y0());
    }
    List<RgbImage> locals = new ArrayList<>(plan.tileCount());
    for (int k = 0; k < plan.tileCount(); k++) {
      locals.add(canvas.cropRgb(plan.canvasRect(k)));
    }
    return new TiledImage(plan, resized.get(0).toRgb(), locals);
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

package ai.ferretstream.tiler.cli;

import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.ImageTiler.TiledImage;
import ai.ferretstream.tiler.domain.PixelRect;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.RgbImage;
import ai.ferretstream.tiler.domain.TilingPlan;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.decode.ImageRefused;
import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * {@code ferret tile IMAGE OUTDIR [--mode stretch|pad]}: tiles one image with the tiler service's
 * own decoder and tiler (same classes, same defaults) and writes what the encoders would receive:
 *
 * <ul>
 *   <li>{@code grid.json}: {@code width}, {@code height} (as displayed), {@code cols}, {@code
 *       rows}, {@code mode}, {@code canvasWidth}, {@code canvasHeight}, {@code
 *       contentX/Y/Width/Height} (where the resized image lies on the canvas) and {@code tiles}
 *       ({@code index}, {@code x0}, {@code y0}, {@code x1}, {@code y1} in canvas pixels,
 *       row-major);
 *   <li>{@code global.png}: the whole image stretched to one tile;
 *   <li>{@code tile-<index>.png}: the local tiles, 8-bit RGB.
 * </ul>
 */
public final class TileCommand {

  /** Largest encoded image and decoded pixel count, as the service's defaults. */
  public static final long DEFAULT_MAX_BYTES = 20L * 1024 * 1024;

  public static final long DEFAULT_MAX_PIXELS = 40_000_000L;

  private final ImageDecoder decoder;
  private final ImageTiler tiler;

  public TileCommand(ImageDecoder decoder, ImageTiler tiler) {
    this.decoder = decoder;
    this.tiler = tiler;
  }

  /** The service's default settings: Ferret-v2 grids, 336-px tiles, the given mode. */
  public static TileCommand withDefaults(ResizeMode mode, Parallelism parallelism) {
    return new TileCommand(
        new ImageDecoder(DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS),
        new ImageTiler(
            GridSelector.of(GridSelector.FERRET_V2, GridSelector.DEFAULT_TILE_SIZE),
            mode,
            BicubicResampler.create(true, parallelism)));
  }

  /** Tiles {@code encoded} and writes the files into {@code outDir} (created if needed). */
  public TiledImage write(byte[] encoded, Path outDir) throws IOException {
    TiledImage tiled = tiler.tile(decoder.decode(encoded));
    Files.createDirectories(outDir);
    Files.writeString(outDir.resolve("grid.json"), gridJson(tiled.plan()), StandardCharsets.UTF_8);
    writePng(tiled.global(), outDir.resolve("global.png"));
    for (int k = 0; k < tiled.locals().size(); k++) {
      writePng(tiled.locals().get(k), outDir.resolve("tile-" + k + ".png"));
    }
    return tiled;
  }

  /** The {@code grid.json} text of a plan. */
  public static String gridJson(TilingPlan plan) {
    PixelRect content = plan.content();
    StringBuilder json = new StringBuilder(256 + 80 * plan.tileCount());
    json.append("{\n");
    field(json, "width", plan.imageWidth());
    field(json, "height", plan.imageHeight());
    field(json, "cols", plan.grid().cols());
    field(json, "rows", plan.grid().rows());
    json.append("  \"mode\": \"").append(plan.mode().label()).append("\",\n");
    field(json, "canvasWidth", plan.canvasWidth());
    field(json, "canvasHeight", plan.canvasHeight());
    field(json, "contentX", content.x0());
    field(json, "contentY", content.y0());
    field(json, "contentWidth", content.width());
    field(json, "contentHeight", content.height());
    json.append("  \"tiles\": [\n");
    for (int k = 0; k < plan.tileCount(); k++) {
      PixelRect r = plan.canvasRect(k);
      json.append("    {\"index\": ")
          .append(k)
          .append(", \"x0\": ")
          .append(r.x0())
          .append(", \"y0\": ")
          .append(r.y0())
          .append(", \"x1\": ")
          .append(r.x1())
          .append(", \"y1\": ")
          .append(r.y1())
          .append(k + 1 < plan.tileCount() ? "},\n" : "}\n");
    }
    json.append("  ]\n}\n");
    return json.toString();
  }

  private static void field(StringBuilder json, String name, int value) {
    json.append("  \"").append(name).append("\": ").append(value).append(",\n");
  }

  private static void writePng(RgbImage image, Path file) throws IOException {
    BufferedImage out =
        new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
    int[] row = new int[image.width()];
    byte[] rgb = image.pixels();
    for (int y = 0; y < image.height(); y++) {
      int p = y * image.width() * 3;
      for (int x = 0; x < row.length; x++, p += 3) {
        row[x] = (rgb[p] & 0xff) << 16 | (rgb[p + 1] & 0xff) << 8 | (rgb[p + 2] & 0xff);
      }
      out.setRGB(0, y, image.width(), 1, row, 0, image.width());
    }
    if (!ImageIO.write(out, "png", file.toFile())) {
      throw new IOException("no PNG writer");
    }
  }

  /**
   * Runs the command line {@code IMAGE OUTDIR [--mode stretch|pad]}; returns the exit status: 0 on
   * success, 2 for bad arguments, 3 for an image the tiler refuses, 1 for I/O errors.
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    String image = null;
    String outDir = null;
    ResizeMode mode = ResizeMode.STRETCH;
    try {
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (arg.equals("--mode") && i + 1 < args.length) {
          mode = ResizeMode.parse(args[++i]);
        } else if (arg.startsWith("--mode=")) {
          mode = ResizeMode.parse(arg.substring("--mode=".length()));
        } else if (arg.startsWith("-")) {
          throw new IllegalArgumentException("unknown option " + arg);
        } else if (image == null) {
          image = arg;
        } else if (outDir == null) {
          outDir = arg;
        } else {
          throw new IllegalArgumentException("unexpected argument " + arg);
        }
      }
      if (image == null || outDir == null) {
        throw new IllegalArgumentException("IMAGE and OUTDIR are required");
      }
    } catch (IllegalArgumentException e) {
      err.println("ferret tile: " + e.getMessage());
      err.println("usage: ferret tile IMAGE OUTDIR [--mode stretch|pad]");
      return 2;
    }
    try (Parallelism threads = Parallelism.of(Runtime.getRuntime().availableProcessors())) {
      TileCommand command = withDefaults(mode, threads);
      TiledImage tiled = command.write(Files.readAllBytes(Path.of(image)), Path.of(outDir));
      TilingPlan plan = tiled.plan();
      out.printf(
          "%s: %dx%d -> %s grid, canvas %dx%d (%s), %d tiles + global view in %s%n",
          image,
          plan.imageWidth(),
          plan.imageHeight(),
          plan.grid(),
          plan.canvasWidth(),
          plan.canvasHeight(),
          plan.mode().label(),
          plan.tileCount(),
          outDir);
      return 0;
    } catch (ImageRefused e) {
      err.println("ferret tile: " + e.code() + " (" + e.reason().tag() + "): " + e.getMessage());
      return 3;
    } catch (IOException | UncheckedIOException e) {
      err.println("ferret tile: " + e.getMessage());
      return 1;
    }
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }
}

package ai.ferretstream.tiler.domain.resample;

import ai.ferretstream.tiler.domain.PackedImage;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resizes images with Pillow's {@code Image.resize(size, Image.BICUBIC)} semantics, byte for byte:
 *
 * <ul>
 *   <li>separable: a horizontal pass over only the source rows the vertical pass needs, then a
 *       vertical pass, each rounded to 8 bits;
 *   <li>cubic convolution kernel with a = -0.5 and support 2, widened by the scale factor when
 *       downscaling (antialiasing); sample positions at pixel centres, window clamped to the image;
 *   <li>weights in 22-bit fixed point, sums started at one half, shifted down and clamped to
 *       0..255.
 * </ul>
 *
 * <p>{@link #resizeAll} resizes one source to several sizes in one sweep (the tiler's canvas and
 * global view), so the source is read once. The passes run on the JDK Vector API when the {@code
 * jdk.incubator.vector} module is present ({@code --add-modules jdk.incubator.vector}), otherwise
 * on plain loops; both give identical bytes. Row chunks are spread over {@link Parallelism}.
 */
public final class BicubicResampler {

  private static final Logger log = LoggerFactory.getLogger(BicubicResampler.class);

  /** Source rows (horizontal pass) or output rows (vertical pass) per task; a multiple of 16. */
  private static final int CHUNK_ROWS = 64;

  private final Kernels kernels;
  private final Parallelism parallelism;

  private BicubicResampler(Kernels kernels, Parallelism parallelism) {
    this.kernels = kernels;
    this.parallelism = parallelism;
  }

  /**
   * @param simd use the Vector API when the running JVM has it
   * @param parallelism threads for one image
   */
  public static BicubicResampler create(boolean simd, Parallelism parallelism) {
    return new BicubicResampler(simd ? bestKernels() : ScalarKernels.INSTANCE, parallelism);
  }

  /** The fastest kernels available, sequential. */
  public static BicubicResampler defaults() {
    return create(true, Parallelism.sequential());
  }

  /** Whether this JVM was started with {@code --add-modules jdk.incubator.vector}. */
  public static boolean vectorApiAvailable() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  private static Kernels bestKernels() {
    if (!vectorApiAvailable()) {
      return ScalarKernels.INSTANCE;
    }
    try {
      // loaded reflectively: the class links against the incubator module, absent by default
      return (Kernels)
          Class.forName(BicubicResampler.class.getPackageName() + ".VectorKernels")
              .getDeclaredConstructor()
              .newInstance();
    } catch (ReflectiveOperationException | LinkageError e) {
      log.warn("Vector API present but unusable, resampling with scalar code: {}", e.toString());
      return ScalarKernels.INSTANCE;
    }
  }

  /** Which kernels run: {@code scalar} or {@code vector-<bits>}. */
  public String kernels() {
    return kernels.name();
  }

  /** {@code src} resized to {@code width} x {@code height}; {@code src} itself if sizes match. */
  public PackedImage resize(PackedImage src, int width, int height) {
    return resizeAll(src, List.of(new Size(width, height))).get(0);
  }

  /** {@code src} resized to each size, in order, reading the source once. */
  public List<PackedImage> resizeAll(PackedImage src, List<Size> sizes) {
    int srcWidth = src.width();
    int srcHeight = src.height();
    List<Plan> plans = new ArrayList<>(sizes.size());
    List<Kernels.HorizontalPass> horizontal = new ArrayList<>();
    int rowFrom = Integer.MAX_VALUE;
    int rowTo = 0;
    for (Size size : sizes) {
      Weights vertical = size.height() != srcHeight ? Weights.of(srcHeight, size.height()) : null;
      Kernels.HorizontalPass pass = null;
      if (size.width() != srcWidth) {
        int first = vertical == null ? 0 : vertical.first(0);
        int end = vertical == null ? srcHeight : vertical.end();
        pass =
            new Kernels.HorizontalPass(
                Weights.of(srcWidth, size.width()),
                first,
                end,
                new int[Math.multiplyExact(end - first, size.width())]);
        horizontal.add(pass);
        rowFrom = Math.min(rowFrom, first);
        rowTo = Math.max(rowTo, end);
      }
      plans.add(new Plan(size, vertical, pass));
    }
    if (!horizontal.isEmpty()) {
      int from = rowFrom;
      int to = rowTo;
      int chunk = chunkRows(to - from);
      parallelism.forEach(
          ceilDiv(to - from, chunk),
          i ->
              kernels.horizontal(
                  src.pixels(),
                  srcWidth,
                  from + i * chunk,
                  Math.min(to, from + (i + 1) * chunk),
                  horizontal));
    }
    List<PackedImage> results = new ArrayList<>(plans.size());
    for (Plan plan : plans) {
      results.add(vertical(src, plan));
    }
    return results;
  }

  private PackedImage vertical(PackedImage src, Plan plan) {
    Size size = plan.size();
    int[] in = plan.horizontal() == null ? src.pixels() : plan.horizontal().out();
    int inFirstRow = plan.horizontal() == null ? 0 : plan.horizontal().firstRow();
    if (plan.vertical() == null) {
      return plan.horizontal() == null ? src : new PackedImage(size.width(), size.height(), in);
    }
    int[] out = new int[Math.multiplyExact(size.width(), size.height())];
    int chunk = chunkRows(size.height());
    parallelism.forEach(
        ceilDiv(size.height(), chunk),
        i ->
            kernels.vertical(
                in,
                size.width(),
                inFirstRow,
                plan.vertical(),
                i * chunk,
                Math.min(size.height(), (i + 1) * chunk),
                out));
    return new PackedImage(size.width(), size.height(), out);
  }

  /** One task per {@link #CHUNK_ROWS} rows, or all rows in one task when sequential. */
  private int chunkRows(int rows) {
    return parallelism.threads() == 1 ? Math.max(rows, 1) : CHUNK_ROWS;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  /**
   * A target size.
   *
   * @param width columns
   * @param height rows
   */
  public record Size(int width, int height) {
    public Size {
      if (width < 1 || height < 1) {
        throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
      }
    }
  }

  private record Plan(Size size, Weights vertical, Kernels.HorizontalPass horizontal) {}
}

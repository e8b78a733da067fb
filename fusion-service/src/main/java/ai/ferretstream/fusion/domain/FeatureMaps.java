package ai.ferretstream.fusion.domain;

import java.lang.reflect.InvocationTargetException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exact, non-learned tensor work of fusion on FP16 little-endian, row-major maps of {@code
 * [positions, C]}:
 *
 * <p>{@code H_a = H_l + upsample(H_g)} in FP32, computed one output row at a time, read from the
 * {@linkplain ai.ferretstream.proto.tensor.ImageTokens image tokens} layout (the global map, then
 * the merged local map {@code H_l}).
 *
 * <p>{@code H_a} is computed by vectorised loops (JDK Vector API) when the JVM has {@code
 * --add-modules jdk.incubator.vector}, else by plain loops; both do the same float operations in
 * the same order and give the same bits. No allocation per element: per map, the decoded global map
 * and one or two upsampled rows.
 */
public final class FeatureMaps {

  private static final Logger log = LoggerFactory.getLogger(FeatureMaps.class);

  private static final int FP16_BYTES = 2;

  private FeatureMaps() {}

  /**
   * {@code H_a = H_l + upsample(H_g)}, {@code [h, w, C]} row-major FP16 little-endian: each element
   * summed in FP32 and rounded to nearest even, with the {@linkplain #kernels() fastest kernels}.
   *
   * @param maps bytes holding {@code H_g} FP16 {@code [gRows * gCols, C]} at byte {@code
   *     globalOffset} and {@code H_l} FP16 {@code [h * w, C]} at byte {@code mergedOffset} (the
   *     {@link #imageTokens} layout has them at 0 and at the global map's size)
   */
  public static byte[] fusedMapFp16(
      byte[] maps,
      int globalOffset,
      int gRows,
      int gCols,
      int mergedOffset,
      int h,
      int w,
      int channels,
      UpsampleMode mode) {
    return fusedMapFp16(
        maps, globalOffset, gRows, gCols, mergedOffset, h, w, channels, mode, null, true);
  }

  /**
   * {@code H_a} with the global map upsampled onto {@code placement} of the merged local map only:
   * a local cell whose centre lies outside it (the padding of a padded canvas) gets no global
   * feature; {@code null} places the global map on the whole map, as {@link #fusedMapFp16(byte[],
   * int, int, int, int, int, int, int, UpsampleMode)}. {@code simd} false forces the scalar loops
   * (the result is the same, bit for bit).
   */
  public static byte[] fusedMapFp16(
      byte[] maps,
      int globalOffset,
      int gRows,
      int gCols,
      int mergedOffset,
      int h,
      int w,
      int channels,
      UpsampleMode mode,
      Placement placement,
      boolean simd) {
    Fuser fuser =
        new Fuser(
            kernelsFor(simd),
            maps,
            globalOffset,
            gRows,
            gCols,
            mergedOffset,
            h,
            w,
            channels,
            mode,
            placement);
    int rowBytes = w * channels * FP16_BYTES;
    byte[] out = new byte[Math.multiplyExact(h, rowBytes)];
    for (int y = 0; y < h; y++) {
      fuser.rowFp16(y, out, y * rowBytes);
    }
    return out;
  }

  /**
   * Where the global map lies on the merged local map, in local cells along each axis: the whole
   * map for a stretched canvas; the content rectangle for a padded one, which may start and end
   * inside a cell ({@code content_x / cell} to {@code (content_x + content_width) / cell}, with
   * {@code cell = tile_size / patch_cols}, likewise for y).
   *
   * @param x0 left edge, in cells
   * @param y0 top edge, in cells
   * @param width width, in cells
   * @param height height, in cells
   */
  public record Placement(double x0, double y0, double width, double height) {
    public Placement {
      if (!(width > 0) || !(height > 0) || !(x0 >= 0) || !(y0 >= 0)) {
        throw new IllegalArgumentException(
            "invalid placement " + width + "x" + height + " at " + x0 + "," + y0);
      }
    }
  }

  /**
   * Which loops compute {@code H_a} by default: {@code vector-<bits>} (JDK Vector API, when the JVM
   * runs with {@code --add-modules jdk.incubator.vector} on a CPU with 256-bit or wider vectors) or
   * {@code scalar}.
   */
  public static String kernels() {
    return Kernels.BEST.name();
  }

  /** The kernels {@code simd} selects: the {@linkplain #kernels() fastest} or the scalar ones. */
  public static String kernelsName(boolean simd) {
    return kernelsFor(simd).name();
  }

  /** Whether this JVM was started with {@code --add-modules jdk.incubator.vector}. */
  public static boolean vectorApiAvailable() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  static FusionKernels kernelsFor(boolean simd) {
    return simd ? Kernels.BEST : ScalarFusionKernels.INSTANCE;
  }

  /** The kernels, chosen once. */
  private static final class Kernels {
    static final FusionKernels BEST = best();

    private static FusionKernels best() {
      FusionKernels chosen = load();
      log.info("fusion computes H_a with {} kernels", chosen.name());
      return chosen;
    }

    private static FusionKernels load() {
      if (!vectorApiAvailable()) {
        return ScalarFusionKernels.INSTANCE;
      }
      try {
        // loaded reflectively: the class links against the incubator module, absent by default
        return (FusionKernels)
            Class.forName(FeatureMaps.class.getPackageName() + ".VectorFusionKernels")
                .getDeclaredConstructor()
                .newInstance();
      } catch (InvocationTargetException e) {
        log.info("Vector API kernels not used: {}", e.getCause().getMessage());
        return ScalarFusionKernels.INSTANCE;
      } catch (ReflectiveOperationException | LinkageError e) {
        log.warn("Vector API present but unusable, fusing with scalar loops: {}", e.toString());
        return ScalarFusionKernels.INSTANCE;
      }
    }
  }

  /**
   * Computes one output row of {@code H_a} at a time. Holds the decoded global map and the global
   * map upsampled along the width for the rows in use: for nearest, the one source row the output
   * row reads ({@code upsample(H_g)} row itself); for bilinear, the two source rows it blends. The
   * source rows only move down as the output row does, so each is built once per map.
   */
  private static final class Fuser {
    private final FusionKernels kernels;
    private final float[] global;
    private final int gCols;
    private final byte[] maps;
    private final int mergedOffset;
    private final int w;
    private final int channels;
    private final AxisResampling ys;
    private final AxisResampling xs;
    private final boolean nearest;
    private final boolean sameWidth;
    private final float[][] slots;
    private final int[] slotRow = {-1, -1};

    Fuser(
        FusionKernels kernels,
        byte[] maps,
        int globalOffset,
        int gRows,
        int gCols,
        int mergedOffset,
        int h,
        int w,
        int channels,
        UpsampleMode mode,
        Placement placement) {
      long globalBytes = (long) gRows * gCols * channels * FP16_BYTES;
      long mergedBytes = (long) h * w * channels * FP16_BYTES;
      if ((globalOffset & 1) != 0
          || (mergedOffset & 1) != 0
          || globalOffset < 0
          || mergedOffset < 0
          || channels <= 0
          || maps.length - globalOffset < globalBytes
          || maps.length - mergedOffset < mergedBytes) {
        throw new IllegalArgumentException(
            "feature maps of "
                + maps.length
                + " bytes do not hold a "
                + gRows
                + "x"
                + gCols
                + " global map at "
                + globalOffset
                + " and a "
                + h
                + "x"
                + w
                + " local map at "
                + mergedOffset);
      }
      this.kernels = kernels;
      this.global = new float[(int) (globalBytes / FP16_BYTES)];
      kernels.decode(maps, globalOffset, global, 0, global.length);
      this.gCols = gCols;
      this.maps = maps;
      this.mergedOffset = mergedOffset;
      this.w = w;
      this.channels = channels;
      this.ys =
          placement == null
              ? AxisResampling.of(mode, gRows, h)
              : AxisResampling.within(mode, gRows, h, placement.y0(), placement.height());
      this.xs =
          placement == null
              ? AxisResampling.of(mode, gCols, w)
              : AxisResampling.within(mode, gCols, w, placement.x0(), placement.width());
      this.nearest = ys.isNearest() && xs.isNearest();
      this.sameWidth = nearest && isIdentity(xs.lo());
      int rowFloats = Math.multiplyExact(w, channels);
      // nearest needs one upsampled row (none when the width is unchanged), bilinear two
      this.slots =
          sameWidth
              ? new float[0][]
              : nearest ? new float[][] {new float[rowFloats]} : new float[2][rowFloats];
    }

    private static boolean isIdentity(int[] index) {
      for (int i = 0; i < index.length; i++) {
        if (index[i] != i) {
          return false;
        }
      }
      return true;
    }

    /** Output row {@code y} as FP16 into {@code out} from byte {@code outByte}. */
    void rowFp16(int y, byte[] out, int outByte) {
      int n = w * channels;
      int src = mergedOffset + y * n * FP16_BYTES;
      if (nearest) {
        int r = ys.lo()[y];
        if (sameWidth) {
          kernels.addFp16(maps, src, global, r * gCols * channels, out, outByte, n);
        } else {
          kernels.addFp16(maps, src, nearestRow(r), 0, out, outByte, n);
        }
        return;
      }
      float[] a = widened(ys.lo()[y], -1);
      float[] b = widened(ys.hi()[y], ys.lo()[y]);
      kernels.blendAddFp16(maps, src, a, b, ys.loWeight()[y], ys.hiWeight()[y], out, outByte, n);
    }

    /** Global row {@code r} with each output column's nearest source column (a copy). */
    private float[] nearestRow(int r) {
      float[] row = slots[0];
      if (slotRow[0] != r) {
        int[] lo = xs.lo();
        int c = channels;
        for (int x = 0; x < w; x++) {
          System.arraycopy(global, (r * gCols + lo[x]) * c, row, x * c, c);
        }
        slotRow[0] = r;
      }
      return row;
    }

    /**
     * Global row {@code r} blended along the width ({@code wx0 * g[x0] + wx1 * g[x1]}), kept in one
     * of two slots; the slot holding row {@code keep} is not overwritten.
     */
    private float[] widened(int r, int keep) {
      for (int s = 0; s < 2; s++) {
        if (slotRow[s] == r) {
          return slots[s];
        }
      }
      int s = slotRow[0] == keep ? 1 : 0;
      float[] row = slots[s];
      int[] lo = xs.lo();
      int[] hi = xs.hi();
      float[] w0 = xs.loWeight();
      float[] w1 = xs.hiWeight();
      int c = channels;
      int base = r * gCols;
      for (int x = 0; x < w; x++) {
        kernels.lerp(global, (base + lo[x]) * c, (base + hi[x]) * c, w0[x], w1[x], row, x * c, c);
      }
      slotRow[s] = r;
      return row;
    }
  }
}

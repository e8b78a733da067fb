package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The exact, non-learned tensor work of fusion on FP16 little-endian, row-major maps of {@code
 * [positions, C]}:
 *
 * <ul>
 *   <li>the merge of the N local maps {@code [pr*pc, C]} into {@code H_l [rows*pr, cols*pc, C]}:
 *       tile {@code k} fills the block at tile row {@code k / cols}, tile column {@code k % cols}
 *       (a pure byte re-layout, no conversion);
 *   <li>the LLM image tokens: the global map's rows followed by {@code H_l} flattened row-major;
 *   <li>{@code H_a = H_l + upsample(H_g)} in FP32, computed one output row at a time.
 * </ul>
 */
public final class FeatureMaps {

  private static final int FP16_BYTES = 2;

  private FeatureMaps() {}

  /**
   * The LLM's image tokens: {@code global} ({@code [gTokens, C]}) followed by the merged local map.
   *
   * @param locals the local maps in tile order, each {@code [patchRows * patchCols, C]}
   */
  public static byte[] imageTokens(
      ByteString global,
      List<ByteString> locals,
      int rows,
      int cols,
      int patchRows,
      int patchCols,
      int channels) {
    long localBytes = (long) locals.size() * patchRows * patchCols * channels * FP16_BYTES;
    long total = global.size() + localBytes;
    if (total > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("image tokens of " + total + " bytes do not fit an array");
    }
    byte[] out = new byte[(int) total];
    global.copyTo(out, 0);
    mergeLocal(locals, rows, cols, patchRows, patchCols, channels, out, global.size());
    return out;
  }

  /**
   * Writes {@code H_l} ({@code [rows*patchRows, cols*patchCols, C]} FP16) into {@code dst} at byte
   * offset {@code dstOffset}: tile {@code k} lands at tile row {@code k / cols}, tile column {@code
   * k % cols}.
   */
  public static void mergeLocal(
      List<ByteString> locals,
      int rows,
      int cols,
      int patchRows,
      int patchCols,
      int channels,
      byte[] dst,
      int dstOffset) {
    if (locals.size() != rows * cols) {
      throw new IllegalArgumentException(
          "expected " + rows * cols + " local maps for a " + cols + "x" + rows + " grid");
    }
    int tokenBytes = channels * FP16_BYTES;
    int tileRowBytes = patchCols * tokenBytes; // one patch row of one tile
    int mergedRowBytes = cols * tileRowBytes; // one row of H_l
    int tileBytes = patchRows * tileRowBytes;
    for (int k = 0; k < locals.size(); k++) {
      ByteString tile = locals.get(k);
      if (tile.size() != tileBytes) {
        throw new IllegalArgumentException(
            "local map " + k + " has " + tile.size() + " bytes, expected " + tileBytes);
      }
      ByteBuffer source = tile.asReadOnlyByteBuffer();
      int base = source.position(); // absolute reads are relative to the backing array
      int tileRow = k / cols;
      int tileCol = k % cols;
      for (int pr = 0; pr < patchRows; pr++) {
        int mergedRow = tileRow * patchRows + pr;
        int to = dstOffset + mergedRow * mergedRowBytes + tileCol * tileRowBytes;
        source.get(base + pr * tileRowBytes, dst, to, tileRowBytes);
      }
    }
  }

  /**
   * {@code H_a = H_l + upsample(H_g)} in FP32, {@code [h, w, C]} row-major.
   *
   * @param maps bytes holding {@code H_g} FP16 {@code [gRows * gCols, C]} at byte {@code
   *     globalOffset} and {@code H_l} FP16 {@code [h * w, C]} at byte {@code mergedOffset} (the
   *     {@link #imageTokens} layout has them at 0 and at the global map's size)
   */
  public static float[] fusedMap(
      byte[] maps,
      int globalOffset,
      int gRows,
      int gCols,
      int mergedOffset,
      int h,
      int w,
      int channels,
      UpsampleMode mode) {
    Fuser fuser = new Fuser(maps, globalOffset, gRows, gCols, mergedOffset, h, w, channels, mode);
    int rowFloats = w * channels;
    float[] out = new float[Math.multiplyExact(h, rowFloats)];
    float[] row = new float[rowFloats];
    for (int y = 0; y < h; y++) {
      fuser.row(y, row);
      System.arraycopy(row, 0, out, y * rowFloats, rowFloats);
    }
    return out;
  }

  /** As {@link #fusedMap}, converted to FP16 little-endian (round to nearest even). */
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
    Fuser fuser = new Fuser(maps, globalOffset, gRows, gCols, mergedOffset, h, w, channels, mode);
    int rowFloats = w * channels;
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(h, rowFloats), FP16_BYTES)];
    float[] row = new float[rowFloats];
    for (int y = 0; y < h; y++) {
      fuser.row(y, row);
      TensorCodec.floatsToFp16(row, 0, rowFloats, out, y * rowFloats * FP16_BYTES);
    }
    return out;
  }

  /** Computes one output row of {@code H_a} at a time; holds the decoded global map. */
  private static final class Fuser {
    private final float[] global;
    private final int gCols;
    private final byte[] maps;
    private final int mergedElement;
    private final int w;
    private final int channels;
    private final AxisResampling ys;
    private final AxisResampling xs;
    private final boolean nearest;

    Fuser(
        byte[] maps,
        int globalOffset,
        int gRows,
        int gCols,
        int mergedOffset,
        int h,
        int w,
        int channels,
        UpsampleMode mode) {
      long globalBytes = (long) gRows * gCols * channels * FP16_BYTES;
      long mergedBytes = (long) h * w * channels * FP16_BYTES;
      if ((globalOffset & 1) != 0
          || (mergedOffset & 1) != 0
          || globalOffset < 0
          || mergedOffset < 0
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
      this.global = new float[(int) (globalBytes / FP16_BYTES)];
      TensorCodec.fp16ToFloats(maps, globalOffset / FP16_BYTES, global, 0, global.length);
      this.gCols = gCols;
      this.maps = maps;
      this.mergedElement = mergedOffset / FP16_BYTES;
      this.w = w;
      this.channels = channels;
      this.ys = AxisResampling.of(mode, gRows, h);
      this.xs = AxisResampling.of(mode, gCols, w);
      this.nearest = ys.isNearest() && xs.isNearest();
    }

    void row(int y, float[] out) {
      int rowFloats = w * channels;
      TensorCodec.fp16ToFloats(maps, mergedElement + y * rowFloats, out, 0, rowFloats);
      int c = channels;
      if (nearest) {
        int gRowBase = ys.lo()[y] * gCols;
        for (int x = 0; x < w; x++) {
          int g = (gRowBase + xs.lo()[x]) * c;
          int o = x * c;
          for (int k = 0; k < c; k++) {
            out[o + k] += global[g + k];
          }
        }
        return;
      }
      int r0 = ys.lo()[y] * gCols;
      int r1 = ys.hi()[y] * gCols;
      float wy0 = ys.loWeight()[y];
      float wy1 = ys.hiWeight()[y];
      for (int x = 0; x < w; x++) {
        int x0 = xs.lo()[x];
        int x1 = xs.hi()[x];
        float wx0 = xs.loWeight()[x];
        float wx1 = xs.hiWeight()[x];
        int g00 = (r0 + x0) * c;
        int g01 = (r0 + x1) * c;
        int g10 = (r1 + x0) * c;
        int g11 = (r1 + x1) * c;
        int o = x * c;
        for (int k = 0; k < c; k++) {
          float v =
              wy0 * (wx0 * global[g00 + k] + wx1 * global[g01 + k])
                  + wy1 * (wx0 * global[g10 + k] + wx1 * global[g11 + k]);
          out[o + k] += v;
        }
      }
    }
  }
}

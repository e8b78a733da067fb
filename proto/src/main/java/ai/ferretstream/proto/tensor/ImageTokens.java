package ai.ferretstream.proto.tensor;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The LLM's image tokens, FP16 little-endian, row-major {@code [positions, C]}: the global map's
 * rows followed by the merge of the N local maps {@code [pr*pc, C]} into {@code H_l [rows*pr,
 * cols*pc, C]}, in which tile {@code k} fills the block at tile row {@code k / cols}, tile column
 * {@code k % cols}. A pure byte re-layout, no conversion: fusion builds it to compute {@code H_a},
 * the llm builds it from the feature records a fused context refers to.
 */
public final class ImageTokens {

  private static final int FP16_BYTES = 2;

  private ImageTokens() {}

  /**
   * The LLM's image tokens: {@code global} ({@code [gTokens, C]}) followed by the merged local map.
   *
   * @param locals the local maps in tile order, each {@code [patchRows * patchCols, C]}
   */
  public static byte[] of(
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
    int tileRowBytes =
        checkLocals(
            locals.size(), k -> locals.get(k).size(), rows, cols, patchRows, patchCols, channels);
    int mergedRowBytes = cols * tileRowBytes; // one row of H_l
    for (int k = 0; k < locals.size(); k++) {
      ByteString tile = locals.get(k);
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
   * The same bytes as {@link #of}, from maps wherever they lie (views of mapped feature files,
   * records' bytes), as pieces: nothing is copied until the result is written where it goes, in one
   * pass ({@link TensorBytes#copyTo}), or sent in a message, where the pieces that are ByteStrings
   * go as views ({@link TensorBytes#toByteString}).
   *
   * @param locals the local maps in tile order, each {@code [patchRows * patchCols, C]}
   * @throws IllegalArgumentException when the maps do not fit the grid
   */
  public static TensorBytes merge(
      TensorBytes global,
      List<TensorBytes> locals,
      int rows,
      int cols,
      int patchRows,
      int patchCols,
      int channels) {
    int tileRowBytes =
        checkLocals(
            locals.size(), k -> locals.get(k).size(), rows, cols, patchRows, patchCols, channels);
    int tileBytes = patchRows * tileRowBytes;
    if (global.size() + (long) tileBytes * locals.size() > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("image tokens do not fit a buffer");
    }
    // H_l row by row: patch row pr of tile row r is the pr-th row of each tile of that row
    List<TensorBytes> pieces = new java.util.ArrayList<>(1 + rows * patchRows * cols);
    pieces.add(global);
    for (int tileRow = 0; tileRow < rows; tileRow++) {
      for (int pr = 0; pr < patchRows; pr++) {
        for (int tileCol = 0; tileCol < cols; tileCol++) {
          pieces.add(locals.get(tileRow * cols + tileCol).slice(pr * tileRowBytes, tileRowBytes));
        }
      }
    }
    return TensorBytes.concat(pieces);
  }

  /**
   * Checks that there is one local map per grid cell, each {@code [patchRows * patchCols, C]}.
   *
   * @return the bytes of one patch row of one tile
   */
  private static int checkLocals(
      int count,
      java.util.function.IntUnaryOperator sizeOf,
      int rows,
      int cols,
      int patchRows,
      int patchCols,
      int channels) {
    if (count != rows * cols) {
      throw new IllegalArgumentException(
          "expected " + rows * cols + " local maps for a " + cols + "x" + rows + " grid");
    }
    int tileRowBytes = patchCols * channels * FP16_BYTES;
    int tileBytes = patchRows * tileRowBytes;
    for (int k = 0; k < count; k++) {
      if (sizeOf.applyAsInt(k) != tileBytes) {
        throw new IllegalArgumentException(
            "local map " + k + " has " + sizeOf.applyAsInt(k) + " bytes, expected " + tileBytes);
      }
    }
    return tileRowBytes;
  }
}

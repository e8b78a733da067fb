package ai.ferretstream.tiler.domain.resample;

import java.util.List;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The passes on the JDK Vector API ({@code jdk.incubator.vector}), with the same integer arithmetic
 * as {@link ScalarKernels}, so the output is identical bit for bit.
 *
 * <ul>
 *   <li>Vertical pass: the lanes are neighbouring output pixels of one row; each tap is one
 *       contiguous load of a source row.
 *   <li>Horizontal pass: the lanes are {@code L} neighbouring source rows. A block of {@code L}
 *       rows is first transposed into a small column-major buffer (pixel {@code x} of the block's
 *       rows at {@code x*L .. x*L+L-1}), so each tap is again one contiguous load; the results are
 *       transposed back into output rows. Every target (e.g. the canvas and the global view) reads
 *       the same transposed block, so the source is transposed once.
 * </ul>
 *
 * <p>Rows left over below a multiple of {@code L} and columns right of the last full vector go
 * through the scalar code.
 */
final class VectorKernels implements Kernels {

  private static final VectorSpecies<Integer> SPECIES = IntVector.SPECIES_PREFERRED;
  private static final int L = SPECIES.length();

  @Override
  public String name() {
    return "vector-" + SPECIES.vectorBitSize();
  }

  @Override
  public void horizontal(
      int[] src, int srcWidth, int rowFrom, int rowTo, List<HorizontalPass> targets) {
    int[] block = new int[srcWidth * L];
    int maxOut = 0;
    for (HorizontalPass target : targets) {
      maxOut = Math.max(maxOut, target.weights().outSize);
    }
    int[] outBlock = new int[maxOut * L];
    int y = rowFrom;
    for (; y + L <= rowTo; y += L) {
      transpose(src, srcWidth, y, block);
      for (HorizontalPass target : targets) {
        int from = Math.max(y, target.firstRow());
        int to = Math.min(y + L, target.endRow());
        if (from < to) {
          horizontalBlock(block, target.weights(), outBlock);
          untranspose(outBlock, target, y, from, to);
        }
      }
    }
    if (y < rowTo) {
      ScalarKernels.INSTANCE.horizontal(src, srcWidth, y, rowTo, targets);
    }
  }

  /** Source rows {@code y .. y+L-1} into column-major {@code block}. */
  private static void transpose(int[] src, int width, int y, int[] block) {
    for (int r = 0; r < L; r++) {
      int p = (y + r) * width;
      for (int x = 0, q = r; x < width; x++, q += L) {
        block[q] = src[p + x];
      }
    }
  }

  private static void horizontalBlock(int[] block, Weights w, int[] outBlock) {
    int[] k = w.fixed;
    IntVector half = IntVector.broadcast(SPECIES, Weights.HALF);
    for (int xx = 0; xx < w.outSize; xx++) {
      int count = w.count(xx);
      int p = w.first(xx) * L;
      int kb = xx * w.ksize;
      IntVector r = half;
      IntVector g = half;
      IntVector b = half;
      for (int x = 0; x < count; x++, p += L) {
        IntVector v = IntVector.fromArray(SPECIES, block, p);
        int weight = k[kb + x];
        r = r.add(v.lanewise(VectorOperators.LSHR, 16).mul(weight));
        g = g.add(v.lanewise(VectorOperators.LSHR, 8).and(0xff).mul(weight));
        b = b.add(v.and(0xff).mul(weight));
      }
      pack(r, g, b).intoArray(outBlock, xx * L);
    }
  }

  private static void untranspose(int[] outBlock, HorizontalPass target, int y, int from, int to) {
    int outWidth = target.weights().outSize;
    int[] out = target.out();
    for (int row = from; row < to; row++) {
      int o = (row - target.firstRow()) * outWidth;
      for (int xx = 0, q = row - y; xx < outWidth; xx++, q += L) {
        out[o + xx] = outBlock[q];
      }
    }
  }

  @Override
  public void vertical(
      int[] in, int width, int inFirstRow, Weights weights, int rowFrom, int rowTo, int[] out) {
    int[] k = weights.fixed;
    int vectorEnd = SPECIES.loopBound(width);
    IntVector half = IntVector.broadcast(SPECIES, Weights.HALF);
    for (int yy = rowFrom; yy < rowTo; yy++) {
      int base = (weights.first(yy) - inFirstRow) * width;
      int count = weights.count(yy);
      int kb = yy * weights.ksize;
      int o = yy * width;
      for (int x = 0; x < vectorEnd; x += L) {
        IntVector r = half;
        IntVector g = half;
        IntVector b = half;
        int p = base + x;
        for (int y = 0; y < count; y++, p += width) {
          IntVector v = IntVector.fromArray(SPECIES, in, p);
          int weight = k[kb + y];
          r = r.add(v.lanewise(VectorOperators.LSHR, 16).mul(weight));
          g = g.add(v.lanewise(VectorOperators.LSHR, 8).and(0xff).mul(weight));
          b = b.add(v.and(0xff).mul(weight));
        }
        pack(r, g, b).intoArray(out, o + x);
      }
      for (int x = vectorEnd; x < width; x++) {
        out[o + x] = ScalarKernels.verticalPixel(in, base + x, width, count, k, kb);
      }
    }
  }

  /** Shifts the sums down, clamps them to 0..255 and packs them as {@code 0x00RRGGBB}. */
  private static IntVector pack(IntVector r, IntVector g, IntVector b) {
    return clip8(r)
        .lanewise(VectorOperators.LSHL, 16)
        .or(clip8(g).lanewise(VectorOperators.LSHL, 8))
        .or(clip8(b));
  }

  private static IntVector clip8(IntVector sum) {
    return sum.lanewise(VectorOperators.ASHR, Weights.PRECISION_BITS).max(0).min(255);
  }
}

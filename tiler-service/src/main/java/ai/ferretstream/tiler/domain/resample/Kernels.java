package ai.ferretstream.tiler.domain.resample;

import java.util.List;

/** The two resampling passes over packed {@code 0x00RRGGBB} pixels. */
interface Kernels {

  /**
   * The horizontal pass of every target over source rows {@code [rowFrom, rowTo)}: for each target
   * whose row range overlaps, writes its output rows {@code row - target.firstRow}.
   */
  void horizontal(int[] src, int srcWidth, int rowFrom, int rowTo, List<HorizontalPass> targets);

  /**
   * The vertical pass for output rows {@code [rowFrom, rowTo)}: {@code in} has {@code width}
   * columns, and output row {@code yy} reads input rows {@code weights.first(yy) - inFirstRow ..}.
   */
  void vertical(
      int[] in, int width, int inFirstRow, Weights weights, int rowFrom, int rowTo, int[] out);

  /** Short name for logs and metrics. */
  String name();

  /**
   * One target of a horizontal pass: source rows {@code [firstRow, endRow)} resampled to {@code
   * weights.outSize} columns into {@code out}, row {@code r} at {@code (r - firstRow) * outSize}.
   */
  record HorizontalPass(Weights weights, int firstRow, int endRow, int[] out) {}
}

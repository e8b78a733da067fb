package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.MaskPngScanner;
import com.google.protobuf.ByteString;

/**
 * Decodes a {@code mask_png} region into a {@link RegionMask.Bits}, one bit per pixel, read strip
 * by strip with {@link MaskPngScanner} (which checks the bytes, the PNG header and the size first).
 * Every failure is a {@link PermanentFailure} with code {@code invalid_region}.
 */
final class MaskPng {

  private MaskPng() {}

  /**
   * The mask of a {@code width x height} image.
   *
   * @throws PermanentFailure {@code invalid_region} when the bytes are too many, not a PNG, a PNG
   *     of another size, undecodable, or have no inside pixel
   */
  static RegionMask.Bits decode(ByteString png, int width, int height) {
    return decode(png, width, height, MaskPngScanner.STRIP_BUDGET_BYTES);
  }

  static RegionMask.Bits decode(ByteString png, int width, int height, long stripBudget) {
    long[] words = new long[wordsFor(width, height)];
    MaskPngScanner.scanInside(
        png,
        width,
        height,
        stripBudget,
        (y, samples) -> {
          long p = (long) y * width;
          for (int x = 0; x < width; x++, p++) {
            if (samples[x] != 0) {
              words[(int) (p >>> 6)] |= 1L << (p & 63);
            }
          }
        });
    return RegionMask.Bits.of(width, height, words);
  }

  private static int wordsFor(int width, int height) {
    try {
      return RegionMask.Bits.wordsFor(width, height);
    } catch (IllegalArgumentException e) {
      throw new PermanentFailure("invalid_region", "mask_png: " + e.getMessage(), e);
    }
  }
}

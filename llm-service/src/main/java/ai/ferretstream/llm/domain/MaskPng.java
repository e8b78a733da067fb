package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.MaskPngScanner;
import com.google.protobuf.ByteString;

/**
 * The bounding box of a {@code mask_png} region, for the prompt: the inside pixels are found strip
 * by strip with {@link MaskPngScanner} (which checks the bytes, the PNG header and the size first).
 * Every failure is a {@link PermanentFailure} with code {@code invalid_region}.
 */
final class MaskPng {

  private MaskPng() {}

  /** The inclusive pixel bounds of the inside pixels. */
  record Bounds(int x1, int y1, int x2, int y2) {}

  /**
   * The bounding box of the inside pixels of the mask of a {@code width x height} image.
   *
   * @throws PermanentFailure {@code invalid_region} when the bytes are too many, not a PNG, a PNG
   *     of another size, undecodable, or have no inside pixel
   */
  static Bounds bounds(ByteString png, int width, int height) {
    return bounds(png, width, height, MaskPngScanner.STRIP_BUDGET_BYTES);
  }

  static Bounds bounds(ByteString png, int width, int height, long stripBudget) {
    int[] box = {Integer.MAX_VALUE, Integer.MAX_VALUE, -1, -1}; // x1, y1, x2, y2
    MaskPngScanner.scanInside(
        png,
        width,
        height,
        stripBudget,
        (y, samples) -> {
          int first = 0;
          while (first < width && samples[first] == 0) {
            first++;
          }
          if (first == width) {
            return;
          }
          int last = width - 1;
          while (samples[last] == 0) {
            last--;
          }
          box[0] = Math.min(box[0], first);
          box[1] = Math.min(box[1], y);
          box[2] = Math.max(box[2], last);
          box[3] = y;
        });
    return new Bounds(box[0], box[1], box[2], box[3]);
  }
}

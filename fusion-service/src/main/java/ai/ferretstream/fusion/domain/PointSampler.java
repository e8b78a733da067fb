package ai.ferretstream.fusion.domain;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Samples the points of a region for the visual sampler, as Ferret's {@code rand_sample_repeat}: a
 * mask with more pixels than needed gives distinct pixels drawn without replacement (Floyd's
 * algorithm on pixel indices, so a box of millions of pixels costs no pixel list); a smaller mask
 * gives all of its pixels plus random duplicates. The RNG is seeded from the request id and region
 * index, so the same request always samples the same points.
 */
public final class PointSampler {

  /** Points per region the region sampler takes ({@code points [1, 512, 2]}). */
  public static final int POINTS = 512;

  private PointSampler() {}

  /** The seed of region {@code regionIndex} of request {@code requestId} (FNV-1a 64, mixed). */
  public static long seed(String requestId, int regionIndex) {
    long h = 0xcbf29ce484222325L;
    for (byte b : requestId.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= (regionIndex + 1L) * 0x9e3779b97f4a7c15L;
    return h;
  }

  /**
   * The index farthest-point sampling starts from for a region of this seed, in {@code [0, }{@value
   * #POINTS}{@code )}: the region sampler's {@code fps_start}. Ferret draws it with {@code
   * torch.randint}; drawing it from the seed keeps a request's embedding the same on every replay.
   * A stream of its own (the seed mixed with a constant), so it does not follow the point draws.
   */
  public static int fpsStart(long seed) {
    return new SplittableRandom(seed ^ 0x5f5f_4650_535f_5354L).nextInt(POINTS);
  }

  /**
   * Indices of {@code count} mask pixels: distinct when the mask has at least {@code count} pixels;
   * otherwise every pixel once, in index order, then random repeats.
   */
  public static long[] sampleIndices(long maskSize, int count, long seed) {
    if (maskSize <= 0) {
      throw new IllegalArgumentException("cannot sample points from an empty mask");
    }
    SplittableRandom random = new SplittableRandom(seed);
    long[] out = new long[count];
    if (maskSize <= count) {
      int n = (int) maskSize;
      for (int i = 0; i < n; i++) {
        out[i] = i;
      }
      for (int i = n; i < count; i++) {
        out[i] = random.nextLong(maskSize);
      }
      return out;
    }
    // Floyd: for j in [N-count, N): t = uniform[0, j]; take t unless taken, else take j.
    int taken = 0;
    for (long j = maskSize - count; j < maskSize; j++) {
      long t = random.nextLong(j + 1);
      out[taken] = contains(out, taken, t) ? j : t;
      taken++;
    }
    return out;
  }

  private static boolean contains(long[] values, int length, long v) {
    for (int i = 0; i < length; i++) {
      if (values[i] == v) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@value #POINTS} points of {@code mask}, normalised over the original image: {@code [x / W, y /
   * H]} pairs, FP32, ready for the {@code points [1, 512, 2]} tensor.
   */
  public static float[] points(RegionMask mask, int width, int height, long seed) {
    long[] indices = sampleIndices(mask.size(), POINTS, seed);
    float[] out = new float[POINTS * 2];
    for (int i = 0; i < POINTS; i++) {
      out[2 * i] = (float) mask.x(indices[i]) / width;
      out[2 * i + 1] = (float) mask.y(indices[i]) / height;
    }
    return out;
  }

  /**
   * Moves points normalised over the original image onto the grid canvas the feature map covers.
   * With the stretch layout the two coincide; with pad the image fills only the content rectangle
   * ({@code content_x/y/width/height}) of the black canvas, so {@code x' = (content_x + x *
   * content_width) / canvas_width}, same for y. Modifies and returns {@code points}.
   */
  public static float[] onCanvas(float[] points, ai.ferretstream.proto.v1.GridLayout layout) {
    if (layout.getMode() != ai.ferretstream.proto.v1.ResizeMode.RESIZE_MODE_PAD
        || layout.getCanvasWidth() <= 0
        || layout.getCanvasHeight() <= 0
        || layout.getContentWidth() <= 0
        || layout.getContentHeight() <= 0) {
      return points;
    }
    double cw = layout.getCanvasWidth();
    double ch = layout.getCanvasHeight();
    for (int i = 0; i < points.length; i += 2) {
      points[i] = (float) ((layout.getContentX() + points[i] * layout.getContentWidth()) / cw);
      points[i + 1] =
          (float) ((layout.getContentY() + points[i + 1] * layout.getContentHeight()) / ch);
    }
    return points;
  }
}

package ai.ferretstream.proto.region;

/**
 * Ferret's coordinate grid: a coordinate {@code q} in 0..999 stands for pixel {@code int(q * W /
 * 1000)} of an image {@code W} pixels wide, and pixel {@code x} is written as {@code int(clamp(x,
 * 0, W-1) * 1000 / W)}. The one place that maps between the two: regions in requests (fusion's
 * masks, the llm's prompt) and boxes in answers use it.
 */
public final class Normalized999 {

  /** The largest coordinate on the grid. */
  public static final int MAX = 999;

  private Normalized999() {}

  /** The pixel of grid coordinate {@code q}: {@code int(q * W / 1000)}, clamped to the image. */
  public static int toPixel(double q, int extent) {
    int px = (int) Math.floor(q * extent / 1000.0);
    return Math.max(0, Math.min(Math.max(0, extent - 1), px));
  }

  /** The grid coordinate of pixel {@code x}: {@code int(clamp(x, 0, W-1) * 1000 / W)}. */
  public static int fromPixel(int x, int extent) {
    if (extent <= 0) {
      throw new IllegalArgumentException("image extent must be positive, was " + extent);
    }
    long clamped = Math.max(0, Math.min(extent - 1L, x));
    return (int) (clamped * 1000 / extent);
  }

  /** A grid coordinate clamped to 0..999. */
  public static int clamp(int q) {
    return Math.max(0, Math.min(MAX, q));
  }
}

package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.region.Normalized999;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.ResizeMode;

/**
 * Where the original image lies on the grid canvas the model sees, for mapping the model's 0..999
 * boxes back onto the original image. With the stretch layout the image fills the canvas and a box
 * is taken as the model wrote it. With pad the image fills only the content rectangle of a black
 * canvas, so the model's coordinates are canvas-relative: canvas pixel {@code q * canvas_w / 1000}
 * is image coordinate {@code q' = (q * canvas_w - 1000 * content_x) / content_w} on the original
 * image's 0..999 grid (the same for y), clamped to 0..999: a box that reaches into the padding ends
 * at the image's edge.
 *
 * @param canvasWidth canvas width in pixels
 * @param canvasHeight canvas height in pixels
 * @param contentX left edge of the image on the canvas
 * @param contentY top edge of the image on the canvas
 * @param contentWidth width of the image on the canvas
 * @param contentHeight height of the image on the canvas
 */
record CanvasFrame(
    int canvasWidth,
    int canvasHeight,
    int contentX,
    int contentY,
    int contentWidth,
    int contentHeight) {

  /** The frame of a stretched layout: the image is the canvas. */
  static final CanvasFrame STRETCH = new CanvasFrame(1, 1, 0, 0, 1, 1);

  /**
   * The frame of {@code layout}: its content rectangle on a padded canvas, otherwise {@link
   * #STRETCH} (also for a layout without canvas or content sizes, as older producers wrote).
   */
  static CanvasFrame of(GridLayout layout) {
    if (layout.getMode() != ResizeMode.RESIZE_MODE_PAD
        || layout.getCanvasWidth() <= 0
        || layout.getCanvasHeight() <= 0
        || layout.getContentWidth() <= 0
        || layout.getContentHeight() <= 0) {
      return STRETCH;
    }
    return new CanvasFrame(
        layout.getCanvasWidth(),
        layout.getCanvasHeight(),
        layout.getContentX(),
        layout.getContentY(),
        layout.getContentWidth(),
        layout.getContentHeight());
  }

  /** The image's 0..999 x coordinate of the model's canvas coordinate {@code q}. */
  int imageX(double q) {
    return onImage(q, canvasWidth, contentX, contentWidth);
  }

  /** The image's 0..999 y coordinate of the model's canvas coordinate {@code q}. */
  int imageY(double q) {
    return onImage(q, canvasHeight, contentY, contentHeight);
  }

  private static int onImage(double q, int canvas, int contentStart, int contentSize) {
    // exact for integer q: an integer numerator over an integer denominator, rounded down
    double mapped = Math.floor((q * canvas - 1000.0 * contentStart) / contentSize);
    return (int) Math.max(0, Math.min(Normalized999.MAX, mapped));
  }
}

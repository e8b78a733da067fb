package ai.ferretstream.tiler.domain;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TilingPlanTest {

  @Test
  void cutsTheCanvasRowMajor() {
    TilingPlan plan = new TilingPlan(1920, 1080, new Grid(3, 2), 336);

    assertThat(plan.canvasRect(0)).isEqualTo(new PixelRect(0, 0, 336, 336));
    assertThat(plan.canvasRect(1)).isEqualTo(new PixelRect(336, 0, 672, 336));
    assertThat(plan.canvasRect(2)).isEqualTo(new PixelRect(672, 0, 1008, 336));
    assertThat(plan.canvasRect(3)).isEqualTo(new PixelRect(0, 336, 336, 672));
    assertThat(plan.canvasRect(5)).isEqualTo(new PixelRect(672, 336, 1008, 672));
  }

  @Test
  void mapsTileCutsBackToOriginalPixelsOf1920x1080() {
    TilingPlan plan = new TilingPlan(1920, 1080, new Grid(3, 2), 336);

    // reference: x = {0, 640, 1280, 1920}; y = {0, 540, 1080}
    assertThat(plan.imageRect(0)).isEqualTo(new PixelRect(0, 0, 640, 540));
    assertThat(plan.imageRect(1)).isEqualTo(new PixelRect(640, 0, 1280, 540));
    assertThat(plan.imageRect(5)).isEqualTo(new PixelRect(1280, 540, 1920, 1080));
  }

  @Test
  void mapsTileCutsBackToOriginalPixelsOf1170x2532() {
    TilingPlan plan = new TilingPlan(1170, 2532, new Grid(2, 3), 336);

    // reference: x = {0, 585, 1170}; y = {0, 844, 1688, 2532}
    assertThat(plan.imageRect(0)).isEqualTo(new PixelRect(0, 0, 585, 844));
    assertThat(plan.imageRect(3)).isEqualTo(new PixelRect(585, 844, 1170, 1688));
    assertThat(plan.imageRect(5)).isEqualTo(new PixelRect(585, 1688, 1170, 2532));
  }

  @Test
  void roundsInnerEdgesToTheNearestPixelAndEndsExactlyAtTheImageEdge() {
    // 1000 px over a 3-tile (1008 px) canvas: 336*1000/1008 = 333.3 -> 333, 666.6 -> 667
    TilingPlan plan = new TilingPlan(1000, 300, new Grid(3, 1), 336);

    assertThat(plan.imageRect(0)).isEqualTo(new PixelRect(0, 0, 333, 300));
    assertThat(plan.imageRect(1)).isEqualTo(new PixelRect(333, 0, 667, 300));
    assertThat(plan.imageRect(2)).isEqualTo(new PixelRect(667, 0, 1000, 300));
  }

  @Test
  void padsLikeLlavaResizeAndPadImage() {
    // reference worked examples: content size and pad L/T/R/B
    assertThat(pad(640, 480, 2, 2).content()).isEqualTo(new PixelRect(0, 84, 672, 588));
    assertThat(pad(480, 640, 2, 2).content()).isEqualTo(new PixelRect(84, 0, 588, 672));
    assertThat(pad(1920, 1080, 3, 2).content()).isEqualTo(new PixelRect(0, 52, 1008, 619));
    assertThat(pad(200, 150, 1, 1).content()).isEqualTo(new PixelRect(0, 42, 336, 294));
    assertThat(pad(3000, 500, 6, 1).content()).isEqualTo(new PixelRect(0, 0, 2016, 336));
    assertThat(pad(1170, 2532, 2, 3).content()).isEqualTo(new PixelRect(103, 0, 569, 1008));
  }

  @Test
  void stretchContentIsTheWholeCanvas() {
    TilingPlan plan = new TilingPlan(640, 480, new Grid(2, 2), 336);

    assertThat(plan.content()).isEqualTo(plan.canvas());
  }

  @Test
  void mapsPaddedTileCutsBackThroughTheContentRectangle() {
    // reference: 1920x1080 with pad has y cuts {0, 541, 1080}
    TilingPlan plan = pad(1920, 1080, 3, 2);

    assertThat(plan.imageRect(0)).isEqualTo(new PixelRect(0, 0, 640, 541));
    assertThat(plan.imageRect(5)).isEqualTo(new PixelRect(1280, 541, 1920, 1080));
    // 1170x2532: content x 103..569 (466 wide); cut 336 -> (336-103)*1170/466 = 585
    assertThat(pad(1170, 2532, 2, 3).imageRect(0)).isEqualTo(new PixelRect(0, 0, 585, 844));
  }

  private static TilingPlan pad(int width, int height, int cols, int rows) {
    return new TilingPlan(width, height, new Grid(cols, rows), 336, ResizeMode.PAD);
  }
}

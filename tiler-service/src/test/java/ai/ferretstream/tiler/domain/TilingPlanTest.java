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
  void roundsInnerEdgesDownAndEndsExactlyAtTheImageEdge() {
    // 1000 px over a 3-tile (1008 px) canvas: 336*1000/1008 = 333.3 -> 333, 666.6 -> 666
    TilingPlan plan = new TilingPlan(1000, 300, new Grid(3, 1), 336);

    assertThat(plan.imageRect(0)).isEqualTo(new PixelRect(0, 0, 333, 300));
    assertThat(plan.imageRect(1)).isEqualTo(new PixelRect(333, 0, 666, 300));
    assertThat(plan.imageRect(2)).isEqualTo(new PixelRect(666, 0, 1000, 300));
  }
}

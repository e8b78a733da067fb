package ai.ferretstream.tiler.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.tiler.domain.ImageTiler.TiledImage;
import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import org.junit.jupiter.api.Test;

class ImageTilerTest {

  private final ImageTiler tiler =
      new ImageTiler(new GridSelector(GridSelectorTest.FERRET_V2, 336));

  @Test
  void cutsEachTileFromItsPlaceOnTheCanvas() {
    // 672x1008 is exactly a 2x3 canvas: the stretch is the identity, so tile k must hold the
    // gradient's pixels of its row-major cell
    RgbImage image = TestImages.gradient(672, 1008);

    TiledImage tiled = tiler.tile(PackedImage.of(image));

    assertThat(tiled.plan().grid()).isEqualTo(new Grid(2, 3));
    assertThat(tiled.locals()).hasSize(6);
    for (int k = 0; k < 6; k++) {
      RgbImage tile = tiled.locals().get(k);
      int x0 = (k % 2) * 336;
      int y0 = (k / 2) * 336;
      assertThat(tile.width()).isEqualTo(336);
      assertThat(tile.height()).isEqualTo(336);
      for (int y = 0; y < 336; y += 5) {
        for (int x = 0; x < 336; x += 7) {
          int cx = x0 + x;
          int cy = y0 + y;
          assertThat(tile.sample(x, y, 0)).as("tile %d R at %d,%d", k, x, y).isEqualTo(cx & 0xff);
          assertThat(tile.sample(x, y, 1)).as("tile %d G at %d,%d", k, x, y).isEqualTo(cy & 0xff);
          assertThat(tile.sample(x, y, 2))
              .as("tile %d B at %d,%d", k, x, y)
              .isEqualTo(16 * (cx >> 8) + (cy >> 8));
        }
      }
    }
  }

  @Test
  void stretchesTheImageOntoTheCanvasBeforeCutting() {
    RgbImage image = TestImages.pattern(1920, 1080);

    TiledImage tiled = tiler.tile(PackedImage.of(image));

    PackedImage canvas =
        BicubicResampler.create(false, Parallelism.sequential())
            .resize(PackedImage.of(image), 1008, 672);
    assertThat(tiled.plan().grid()).isEqualTo(new Grid(3, 2));
    for (int k = 0; k < 6; k++) {
      assertThat(tiled.locals().get(k).pixels())
          .as("tile %d", k)
          .isEqualTo(canvas.cropRgb(tiled.plan().canvasRect(k)).pixels());
    }
  }

  @Test
  void makesTheGlobalViewFromTheWholeOriginalImage() {
    RgbImage image = TestImages.pattern(640, 480);

    TiledImage tiled = tiler.tile(PackedImage.of(image));

    assertThat(tiled.global().width()).isEqualTo(336);
    assertThat(tiled.global().height()).isEqualTo(336);
    // Pillow 9.4: pattern(640, 480).resize((336, 336), BICUBIC)
    assertThat(TestImages.sha256(tiled.global().pixels()))
        .isEqualTo("fb3f2daff5e35e5ac64c5c862cf3a4d8a442577a5735d7f2e4dc9a2064d399bf");
  }

  @Test
  void padsOntoABlackCanvasAndKeepsTheGlobalViewStretched() {
    ImageTiler padding =
        new ImageTiler(
            new GridSelector(GridSelectorTest.FERRET_V2, 336),
            ResizeMode.PAD,
            BicubicResampler.defaults());
    RgbImage image = TestImages.solid(640, 480, 200, 100, 50);

    TiledImage tiled = padding.tile(PackedImage.of(image));

    // 640x480 on 2x2: content 672x504 at y = 84
    assertThat(tiled.plan().content()).isEqualTo(new PixelRect(0, 84, 672, 588));
    RgbImage topLeft = tiled.locals().get(0);
    assertThat(topLeft.sample(10, 83, 0)).isZero();
    assertThat(topLeft.sample(10, 84, 0)).isEqualTo(200);
    RgbImage bottomLeft = tiled.locals().get(2);
    assertThat(bottomLeft.sample(10, 588 - 336 - 1, 1)).isEqualTo(100);
    assertThat(bottomLeft.sample(10, 588 - 336, 1)).isZero();
    assertThat(tiled.global().sample(0, 0, 2)).isEqualTo(50);
  }
}

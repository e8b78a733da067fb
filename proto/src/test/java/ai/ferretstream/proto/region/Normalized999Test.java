package ai.ferretstream.proto.region;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class Normalized999Test {

  @Test
  void gridCoordinatesBecomePixelsOfTheImageClampedToIt() {
    assertThat(Normalized999.toPixel(500, 640)).isEqualTo(320);
    assertThat(Normalized999.toPixel(999, 640)).isEqualTo(639);
    assertThat(Normalized999.toPixel(333, 1080)).isEqualTo(359);
    assertThat(Normalized999.toPixel(1500, 640)).isEqualTo(639);
    assertThat(Normalized999.toPixel(-3, 640)).isZero();
  }

  @Test
  void pixelsBecomeGridCoordinatesOverTheWholeImage() {
    assertThat(Normalized999.fromPixel(320, 640)).isEqualTo(500);
    assertThat(Normalized999.fromPixel(639, 640)).isEqualTo(998);
    assertThat(Normalized999.fromPixel(5000, 640)).isEqualTo(998);
    assertThat(Normalized999.fromPixel(-1, 640)).isZero();
    assertThatThrownBy(() -> Normalized999.fromPixel(1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aPixelMappedToTheGridAndBackStaysWithinOneGridCell() {
    for (int w : new int[] {7, 336, 640, 1080, 4000}) {
      for (int x = 0; x < w; x += Math.max(1, w / 97)) {
        int back = Normalized999.toPixel(Normalized999.fromPixel(x, w), w);
        assertThat(x - back).isBetween(0, (int) Math.ceil(w / 1000.0));
      }
    }
  }

  @Test
  void gridCoordinatesClampTo0Through999() {
    assertThat(Normalized999.clamp(-5)).isZero();
    assertThat(Normalized999.clamp(1200)).isEqualTo(999);
    assertThat(Normalized999.clamp(42)).isEqualTo(42);
  }
}

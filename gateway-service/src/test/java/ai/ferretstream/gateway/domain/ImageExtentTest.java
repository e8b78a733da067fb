package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.testsupport.TestImages;
import java.awt.Color;
import org.junit.jupiter.api.Test;

/** The header cases themselves are in proto's {@code ImageHeaderTest}. */
class ImageExtentTest {

  @Test
  void isTheDisplayedSizeFromTheImageHeader() {
    ImageExtent extent = ImageExtent.of(TestImages.png(TestImages.plain(64, 48, Color.WHITE)));

    assertThat(extent).isEqualTo(new ImageExtent(64, 48));
    assertThat(extent).hasToString("64x48");
  }

  @Test
  void hasNoSizeForBytesThatAreNoImage() {
    assertThat(ImageExtent.of(new byte[0])).isNull();
    assertThat(ImageExtent.of("not an image at all".getBytes())).isNull();
    assertThat(ImageExtent.of(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF})).isNull();
  }
}

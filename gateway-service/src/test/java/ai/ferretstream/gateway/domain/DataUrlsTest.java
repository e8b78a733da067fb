package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class DataUrlsTest {

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private static String dataUrl(String mediaType, byte[] bytes) {
    return "data:" + mediaType + ";base64," + Base64.getEncoder().encodeToString(bytes);
  }

  @Test
  void decodesABase64ImageDataUrl() {
    ImageData image = DataUrls.decode(dataUrl("image/PNG", PNG_MAGIC), "url", 100);

    assertThat(image.bytes()).isEqualTo(PNG_MAGIC);
    assertThat(image.mediaType()).isEqualTo("image/png");
  }

  @Test
  void acceptsMediaTypeParameters() {
    ImageData image = DataUrls.decode("data:image/jpeg;name=a.jpg;base64,AAEC", "url", 100);

    assertThat(image.bytes()).containsExactly(0, 1, 2);
    assertThat(image.mediaType()).isEqualTo("image/jpeg");
  }

  @Test
  void refusesRemoteUrlsForNow() {
    assertThatThrownBy(() -> DataUrls.decode("https://example.com/cat.jpg", "url", 100))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.INVALID);
              assertThat(e.code()).isEqualTo("unsupported_image_url");
              assertThat(e.getMessage()).contains("not supported yet");
            });
  }

  @Test
  void refusesNonImageMediaTypes() {
    assertThatThrownBy(() -> DataUrls.decode(dataUrl("text/plain", PNG_MAGIC), "url", 100))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_image");
              assertThat(e.getMessage()).contains("'text/plain'");
            });
  }

  @Test
  void refusesDataUrlsThatAreNotBase64() {
    assertThatThrownBy(() -> DataUrls.decode("data:image/png,rawtext", "url", 100))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("base64-encoded");
    assertThatThrownBy(() -> DataUrls.decode("data:image/png;base64,@@@@", "url", 100))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("not valid base64");
    assertThatThrownBy(() -> DataUrls.decode("file:///etc/passwd", "url", 100))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("data:image");
  }

  @Test
  void refusesEmptyImages() {
    assertThatThrownBy(() -> DataUrls.decode("data:image/png;base64,", "url", 100))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("empty");
  }

  @Test
  void refusesImagesAboveTheLimitAsTooLarge() {
    assertThatThrownBy(() -> DataUrls.decode(dataUrl("image/png", new byte[101]), "url", 100))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.TOO_LARGE);
              assertThat(e.code()).isEqualTo("image_too_large");
            });
    assertThat(DataUrls.decode(dataUrl("image/png", new byte[100]), "url", 100).bytes())
        .hasSize(100);
  }
}

package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.domain.RequestRejected;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MultipartFormTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void readsFieldsAndFilesWithTheirNamesAndBytes() {
    byte[] body =
        bytes(
            "preamble\r\n--xx\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{\"a\":1}"
                + "\r\n--xx\r\nContent-Disposition: form-data; name=\"image\";"
                + " filename=\"a;b.png\"\r\nContent-Type: image/png\r\n\r\n\u0089PNG\r\n--x"
                + "\r\n--xx--\r\nepilogue");

    MultipartForm form = MultipartForm.parse(body, "xx");

    assertThat(form.parts()).hasSize(2);
    assertThat(new String(form.part("request").content(), StandardCharsets.UTF_8))
        .isEqualTo("{\"a\":1}");
    assertThat(form.part("request").filename()).isNull();
    assertThat(form.part("image").filename()).isEqualTo("a;b.png");
    assertThat(form.part("image").contentType()).isEqualTo("image/png");
    // a CRLF and a near-boundary inside the content stay content
    assertThat(form.part("image").content()).isEqualTo(bytes("\u0089PNG\r\n--x"));
    assertThat(form.part("missing")).isNull();
  }

  @Test
  void refusesMalformedBodiesWithTheReason() {
    assertThatThrownBy(() -> MultipartForm.parse(bytes("--xx\r\n"), null))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("no boundary");
    assertThatThrownBy(() -> MultipartForm.parse(bytes("nothing here"), "xx"))
        .hasMessageContaining("does not start with the boundary");
    assertThatThrownBy(
            () ->
                MultipartForm.parse(
                    bytes("--xx\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nopen"), "xx"))
        .hasMessageContaining("part 0 is not closed by the boundary");
    assertThatThrownBy(
            () ->
                MultipartForm.parse(
                    bytes("--xx\r\nContent-Disposition: attachment\r\n\r\nx\r\n--xx--"), "xx"))
        .hasMessageContaining("part 0 is not Content-Disposition: form-data");
  }
}

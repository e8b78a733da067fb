package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BodyBufferTest {

  private static byte[] body(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }

  private static byte[] read(long declared, byte[] sent, int chunk) {
    RequestBodyFilter.BodyBuffer buffer = new RequestBodyFilter.BodyBuffer(declared);
    for (int at = 0; at < sent.length; at += chunk) {
      buffer.write(sent, at, Math.min(chunk, sent.length - at));
    }
    assertThat(buffer.size()).isEqualTo(sent.length);
    return buffer.take();
  }

  @Test
  void aBodyOfItsDeclaredLengthIsReadWhole() {
    byte[] sent = body(3_000_017);
    assertThat(read(sent.length, sent, 16 * 1024)).isEqualTo(sent);
    assertThat(read(sent.length, sent, 7)).isEqualTo(sent);
  }

  @Test
  void aChunkedBodyAndOneShorterOrLongerThanDeclaredAreReadAsSent() {
    byte[] sent = body(200_003);
    assertThat(read(-1, sent, 16 * 1024)).isEqualTo(sent);
    assertThat(read(sent.length + 1_000, sent, 16 * 1024)).isEqualTo(sent);
    assertThat(read(1_000, sent, 16 * 1024)).isEqualTo(sent);
    assertThat(read(-1, new byte[0], 1)).isEmpty();
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import java.time.Duration;
import java.util.Base64;
import org.springframework.util.unit.DataSize;

/** Request bodies and settings the web tests share. */
final class TestRequests {

  static final String MODEL = "ferret-v2-dev";

  private TestRequests() {}

  static GatewayProperties properties(int maxInFlight, long maxImageBytes, int maxMessages) {
    return properties(maxInFlight, maxImageBytes, maxMessages, DataSize.ofMegabytes(24));
  }

  static GatewayProperties properties(
      int maxInFlight, long maxImageBytes, int maxMessages, DataSize maxBodySize) {
    return new GatewayProperties(
        MODEL,
        "gateway-test",
        Duration.ofSeconds(60),
        Duration.ofSeconds(2),
        Duration.ofMillis(250),
        Duration.ofSeconds(10),
        maxInFlight,
        256,
        2,
        new GatewayProperties.Answers("ferret-gateway"),
        new GatewayProperties.Limits(
            maxBodySize, DataSize.ofBytes(maxImageBytes), 2000, maxMessages, 8, 4096));
  }

  static GatewayProperties properties() {
    return properties(16, 1_000_000, 16);
  }

  /** A small PNG: white with a red square. */
  static byte[] png() {
    return ai.ferretstream.gateway.fetch.ImageServer.png();
  }

  static String dataUrl(byte[] png) {
    return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
  }

  /** A JSON string literal. */
  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  /** One user message with the text and the image, plus extra top-level fields. */
  static String body(String question, String imageUrl, String extraFields) {
    return "{\"model\":\""
        + MODEL
        + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        + quote(question)
        + "},{\"type\":\"image_url\",\"image_url\":{\"url\":"
        + quote(imageUrl)
        + "}}]}]"
        + (extraFields.isEmpty() ? "" : "," + extraFields)
        + "}";
  }
}

package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The official {@code openai} npm client, unchanged, against the whole local stack (dev models):
 * {@code gateway-service/src/test/node/openai-client-test.mjs} streams a grounded answer, asks
 * without streaming, asks about an http image URL that the gateway fetches from a server of this
 * test (on 127.0.0.1, allowed for this run with {@code ferret.gateway.fetch.allow-cidrs}), sends a
 * data URL that is not an image (streamed and not) and an http image URL on 127.0.0.2 that the SSRF
 * guard refuses, holds two conversations ("Where is the red object?" then "And the blue one?" with
 * that history; a region question then "And this one? [...] &lt;region_fea&gt;") and sends a
 * history longer than the model's context (400 {@code context_length_exceeded}), and prints what
 * the client got as JSON lines (kept in {@code target/openai-client-test.jsonl}). The npm package
 * is installed by {@code .ci/run} ({@code npm ci --prefix gateway-service/src/test/node}).
 */
class OpenAiClientIT {

  private static final Path NODE_DIR = Path.of("..", "gateway-service", "src", "test", "node");
  private static final String ALLOW_CIDRS = "ferret.gateway.fetch.allow-cidrs";

  @Test
  void theOfficialClientStreamsCompletesAndSeesOpenAiErrors() throws Exception {
    assertThat(NODE_DIR.resolve("node_modules/openai/package.json"))
        .as(
            "the openai npm package is installed: run npm ci --prefix gateway-service/src/test/node")
        .exists();
    EndToEndIT.Shape shape = new EndToEndIT.Shape(1024, 1024, 2, 2);
    Path image = Files.createTempFile("ferret-openai", ".png");
    Files.write(image, EndToEndIT.image(shape));
    EndToEndIT.Rect red = shape.red();
    EndToEndIT.Rect blue = shape.blue();
    String blueRegion = region(blue, shape);
    String redRegion = region(red, shape);

    byte[] png = Files.readAllBytes(image);
    List<String> served = new CopyOnWriteArrayList<>();
    HttpServer images =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    images.createContext(
        "/shapes.png",
        exchange -> {
          served.add(
              exchange.getRequestURI() + " Host: " + exchange.getRequestHeaders().getFirst("Host"));
          exchange.getResponseHeaders().set("Content-Type", "image/png");
          exchange.sendResponseHeaders(200, png.length);
          exchange.getResponseBody().write(png);
          exchange.close();
        });
    images.start();
    String remoteImage = "http://127.0.0.1:" + images.getAddress().getPort() + "/shapes.png";

    Map<String, JsonNode> calls = new HashMap<>();
    String output;
    // read by the gateway started below (system properties outrank its gateway-service.yml)
    System.setProperty(ALLOW_CIDRS, "127.0.0.1/32");
    try (LocalStack stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start()) {
      Process node =
          new ProcessBuilder(
                  List.of(
                      "node",
                      "openai-client-test.mjs",
                      stack.gatewayUrl(),
                      image.toAbsolutePath().toString(),
                      blueRegion,
                      remoteImage,
                      redRegion))
              .directory(NODE_DIR.toFile())
              .redirectErrorStream(true)
              .start();
      boolean finished = node.waitFor(4, TimeUnit.MINUTES);
      if (!finished) {
        node.destroyForcibly();
      }
      output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      Path transcript = Path.of("target", "openai-client-test.jsonl");
      Files.createDirectories(transcript.getParent());
      Files.writeString(transcript, output);
      assertThat(finished).as("the client test finished: %s", output).isTrue();
      assertThat(node.exitValue()).as(output).isZero();
    } finally {
      System.clearProperty(ALLOW_CIDRS);
      images.stop(0);
      Files.deleteIfExists(image);
    }
    JsonMapper json = JsonMapper.shared();
    for (String line : output.strip().split("\n")) {
      if (line.startsWith("{")) {
        JsonNode record = json.readTree(line);
        calls.put(record.get("call").stringValue(), record);
      }
    }
    assertThat(calls)
        .as(output)
        .containsKeys(
            "models",
            "stream",
            "complete",
            "remote_image",
            "bad_image",
            "bad_image_stream",
            "remote_image_refused",
            "conversation_where",
            "conversation_follow_up",
            "region_turn",
            "region_follow_up",
            "context_too_long",
            "done");

    assertThat(calls.get("models").get("ids").get(0).stringValue()).isEqualTo("ferret-v2-dev");

    JsonNode stream = calls.get("stream");
    assertThat(stream.get("role").stringValue()).isEqualTo("assistant");
    assertThat(stream.get("content").stringValue().toLowerCase(Locale.ROOT)).contains("red");
    assertThat(stream.get("content_chunks").intValue()).as("%s", stream).isGreaterThan(1);
    assertThat(stream.get("finish_reason").stringValue()).isIn("stop", "length");
    assertThat(stream.get("usage").get("total_tokens").intValue()).isPositive();
    JsonNode boxes = stream.get("boxes");
    assertThat(boxes.isEmpty()).as("box deltas reached the client: %s", stream).isFalse();
    JsonNode pixels = boxes.get(0).get("box_pixels");
    double cellW = shape.cellWidth() + 2;
    double cellH = shape.cellHeight() + 2;
    assertThat(boxes.get(0).get("phrase").stringValue()).isNotBlank();
    assertThat((double) pixels.get(0).intValue()).isCloseTo(red.x0(), Offset.offset(cellW));
    assertThat((double) pixels.get(1).intValue()).isCloseTo(red.y0(), Offset.offset(cellH));
    assertThat((double) pixels.get(2).intValue()).isCloseTo(red.x1() - 1, Offset.offset(cellW));
    assertThat((double) pixels.get(3).intValue()).isCloseTo(red.y1() - 1, Offset.offset(cellH));

    JsonNode complete = calls.get("complete");
    assertThat(complete.get("object").stringValue()).isEqualTo("chat.completion");
    assertThat(complete.get("id").stringValue()).startsWith("chatcmpl-");
    assertThat(complete.get("content").stringValue()).isNotBlank();
    assertThat(complete.get("content").stringValue().toLowerCase(Locale.ROOT)).contains("blue");
    assertThat(complete.get("finish_reason").stringValue()).isIn("stop", "length");

    JsonNode remoteImageAnswer = calls.get("remote_image");
    assertThat(remoteImageAnswer.get("content").stringValue().toLowerCase(Locale.ROOT))
        .as("%s", remoteImageAnswer)
        .contains("red");
    assertThat(remoteImageAnswer.get("boxes").isEmpty()).as("%s", remoteImageAnswer).isFalse();
    assertThat(served)
        .containsExactly(
            "/shapes.png Host: " + remoteImage.substring(7, remoteImage.indexOf("/shapes")));

    JsonNode bad = calls.get("bad_image").get("caught");
    assertThat(bad).as("%s", calls.get("bad_image")).isNotNull();
    assertThat(bad.get("class").stringValue()).isEqualTo("BadRequestError");
    assertThat(bad.get("status").intValue()).isEqualTo(400);
    assertThat(bad.get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(bad.get("code").stringValue()).isEqualTo("invalid_image");
    assertThat(bad.get("body").get("message").stringValue()).isNotBlank();

    // mid-stream errors reach the client as an APIError without an HTTP status (it was 200)
    JsonNode badStream = calls.get("bad_image_stream").get("caught");
    assertThat(badStream).as("%s", calls.get("bad_image_stream")).isNotNull();
    assertThat(badStream.get("code").stringValue()).isEqualTo("invalid_image");

    JsonNode remote = calls.get("remote_image_refused").get("caught");
    assertThat(remote).as("%s", calls.get("remote_image_refused")).isNotNull();
    assertThat(remote.get("status").intValue()).isEqualTo(400);
    assertThat(remote.get("code").stringValue()).isEqualTo("invalid_image_url");
    assertThat(remote.get("message").stringValue())
        .contains("resolves to a loopback address 127.0.0.2, which is not allowed");

    // a conversation: the follow-up "And the blue one?" is answered from the earlier turn
    JsonNode where = calls.get("conversation_where");
    assertThat(where.get("content").stringValue()).as("%s", where).contains("red");
    assertBox(where.get("boxes"), red, shape, where);
    JsonNode followUp = calls.get("conversation_follow_up");
    assertThat(followUp.get("history_turns").intValue()).isEqualTo(1);
    assertThat(followUp.get("content").stringValue()).as("%s", followUp).contains("blue");
    assertBox(followUp.get("boxes"), blue, shape, followUp);

    // a region follow-up names the new region's colour and relates it to the earlier region
    assertThat(calls.get("region_turn").get("content").stringValue()).isEqualTo("It is blue.");
    JsonNode regionFollowUp = calls.get("region_follow_up");
    assertThat(regionFollowUp.get("content").stringValue())
        .as("%s", regionFollowUp)
        .isEqualTo("It is red; the earlier region was blue.");
    // 2880 image tokens + 2 regions + the words of both turns
    assertThat(regionFollowUp.get("usage").get("prompt_tokens").intValue()).isGreaterThan(2880 + 2);

    JsonNode tooLong = calls.get("context_too_long").get("caught");
    assertThat(tooLong).as("%s", calls.get("context_too_long")).isNotNull();
    assertThat(tooLong.get("class").stringValue()).isEqualTo("BadRequestError");
    assertThat(tooLong.get("status").intValue()).isEqualTo(400);
    assertThat(tooLong.get("code").stringValue()).isEqualTo("context_length_exceeded");
    assertThat(tooLong.get("message").stringValue())
        .contains("the conversation needs ")
        .contains("plus max_tokens 1024 but the model's context is 8192 tokens");

    assertThat(calls.get("done").get("unexpected").intValue()).isZero();
  }

  /** The first box of an answer lies on {@code rect} (within a feature cell). */
  private static void assertBox(
      JsonNode boxes, EndToEndIT.Rect rect, EndToEndIT.Shape shape, JsonNode call) {
    assertThat(boxes != null && boxes.isArray() && !boxes.isEmpty())
        .as("the answer has a box: %s", call)
        .isTrue();
    JsonNode pixels = boxes.get(0).get("box_pixels");
    double cellW = shape.cellWidth() + 2;
    double cellH = shape.cellHeight() + 2;
    assertThat((double) pixels.get(0).intValue()).isCloseTo(rect.x0(), Offset.offset(cellW));
    assertThat((double) pixels.get(1).intValue()).isCloseTo(rect.y0(), Offset.offset(cellH));
    assertThat((double) pixels.get(2).intValue()).isCloseTo(rect.x1() - 1, Offset.offset(cellW));
    assertThat((double) pixels.get(3).intValue()).isCloseTo(rect.y1() - 1, Offset.offset(cellH));
  }

  /** A rectangle of the picture as x1,y1,x2,y2 on Ferret's 0..999 grid. */
  private static String region(EndToEndIT.Rect rect, EndToEndIT.Shape shape) {
    return q(rect.x0(), shape.width())
        + ","
        + q(rect.y0(), shape.height())
        + ","
        + q(rect.x1() - 1, shape.width())
        + ","
        + q(rect.y1() - 1, shape.height());
  }

  private static int q(int pixel, int size) {
    return (int) ((long) pixel * 1000 / size);
  }
}

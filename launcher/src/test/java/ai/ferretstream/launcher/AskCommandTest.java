package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The ask client against a canned gateway on a local port. */
class AskCommandTest {

  private static final String CHUNK =
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
          + "\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]}";

  @TempDir Path dir;

  private HttpServer server;
  private final AtomicReference<String> requestBody = new AtomicReference<>();
  private final AtomicReference<String> authorization = new AtomicReference<>();
  private String apiKey;
  private volatile int status = 200;
  private volatile String contentType = "text/event-stream";
  private volatile String responseBody = "";
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private Path image;

  @BeforeEach
  void serve() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/v1/chat/completions",
        exchange -> {
          requestBody.set(
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          authorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
          byte[] bytes = responseBody.getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", contentType);
          exchange.sendResponseHeaders(status, bytes.length);
          try (OutputStream body = exchange.getResponseBody()) {
            body.write(bytes);
          }
        });
    server.start();
    image = dir.resolve("photo.png");
    Files.write(image, new byte[] {(byte) 0x89, 'P', 'N', 'G'});
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private int ask(boolean stream) throws Exception {
    AskCommand command =
        new AskCommand(
            HttpClient.newHttpClient(),
            JsonMapper.shared(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return command.run(
        new AskCommand.Options(
            URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
            image,
            "Where is the red object?",
            stream,
            true,
            64,
            "ferret-v2-dev",
            apiKey));
  }

  @Test
  void sendsTheApiKeyAsABearerTokenOnlyWhenGiven() throws Exception {
    responseBody = "data: [DONE]\n\n";
    ask(true);
    assertThat(authorization.get()).isNull();

    apiKey = "k-123";
    ask(true);
    assertThat(authorization.get()).isEqualTo("Bearer k-123");
  }

  private static String event(String json) {
    return "data: " + json + "\n\n";
  }

  @Test
  void printsTheStreamedTextThenTheBoxesInPixels() throws Exception {
    responseBody =
        event(CHUNK.formatted("{\"role\":\"assistant\",\"content\":\"\"}", "null"))
            + event(CHUNK.formatted("{\"content\":\"The red object\"}", "null"))
            + event(
                CHUNK.formatted(
                    "{\"boxes\":[{\"phrase\":\"The red object\",\"box\":[100,150,349,499],"
                        + "\"box_pixels\":[192,162,670,538]}]}",
                    "null"))
            + event(CHUNK.formatted("{\"content\":\" is on the left.\"}", "null"))
            + event(CHUNK.formatted("{}", "\"stop\""))
            + "data: [DONE]\n\n";

    assertThat(ask(true)).isZero();

    assertThat(out.toString(StandardCharsets.UTF_8))
        .isEqualTo(
            "The red object is on the left.\n"
                + "boxes (pixels of the original image; 0..999 grid in brackets):\n"
                + "  The red object: (192, 162, 670, 538)  [(100, 150, 349, 499)]\n");
    JsonNode sent = JsonMapper.shared().readTree(requestBody.get());
    assertThat(sent.get("stream").booleanValue()).isTrue();
    assertThat(sent.get("grounding").booleanValue()).isTrue();
    assertThat(sent.at("/messages/0/content/0/text").stringValue())
        .isEqualTo("Where is the red object?");
    assertThat(sent.at("/messages/0/content/1/image_url/url").stringValue())
        .isEqualTo("data:image/png;base64,iVBORw==");
  }

  @Test
  void failsOnAnErrorEvent() throws Exception {
    responseBody =
        event(CHUNK.formatted("{\"role\":\"assistant\",\"content\":\"\"}", "null"))
            + event(
                "{\"error\":{\"message\":\"cannot decode the image\",\"type\":"
                    + "\"invalid_request_error\",\"param\":null,\"code\":\"invalid_image\"}}")
            + "data: [DONE]\n\n";

    assertThat(ask(true)).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("error: cannot decode the image (invalid_image)");
  }

  @Test
  void failsOnAStreamCutShortOfDone() throws Exception {
    responseBody = event(CHUNK.formatted("{\"content\":\"The\"}", "null"));

    assertThat(ask(true)).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("without [DONE]");
  }

  @Test
  void failsWithTheServersMessageOnAnHttpError() throws Exception {
    status = 400;
    contentType = "application/json";
    responseBody =
        "{\"error\":{\"message\":\"<region_fea> has no coordinates\",\"type\":"
            + "\"invalid_request_error\",\"param\":\"messages[0].content\","
            + "\"code\":\"unsupported_region\"}}";

    assertThat(ask(true)).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("HTTP 400: <region_fea> has no coordinates (unsupported_region)");
  }

  @Test
  void printsANonStreamedAnswer() throws Exception {
    contentType = "application/json";
    responseBody =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Here.\",\"boxes\":[{\"phrase\":"
            + "\"Here\",\"box\":[1,2,3,4],\"box_pixels\":[5,6,7,8]}]},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}";

    assertThat(ask(false)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .startsWith("Here.\n")
        .contains("  Here: (5, 6, 7, 8)  [(1, 2, 3, 4)]");
    assertThat(JsonMapper.shared().readTree(requestBody.get()).get("stream").booleanValue())
        .isFalse();
  }
}

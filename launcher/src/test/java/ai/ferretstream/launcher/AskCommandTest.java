package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The ask client against a canned gateway on a local port: one question and conversations. */
class AskCommandTest {

  private static final String CHUNK =
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
          + "\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]}";

  @TempDir Path dir;

  private HttpServer server;
  private final AtomicReference<String> requestBody = new AtomicReference<>();
  private final List<String> requestBodies = new CopyOnWriteArrayList<>();

  /** Answers for the next requests, in order (status, body); then the fields below. */
  private final Queue<Canned> canned = new ConcurrentLinkedQueue<>();

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
          requestBodies.add(requestBody.get());
          authorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
          Canned next = canned.poll();
          byte[] bytes =
              (next != null ? next.body() : responseBody).getBytes(StandardCharsets.UTF_8);
          exchange
              .getResponseHeaders()
              .add(
                  "Content-Type",
                  next == null
                      ? contentType
                      : next.status() == 200 ? "text/event-stream" : "application/json");
          exchange.sendResponseHeaders(next != null ? next.status() : status, bytes.length);
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

  private record Canned(int status, String body) {}

  private AskCommand command() {
    return new AskCommand(
        HttpClient.newHttpClient(),
        JsonMapper.shared(),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private AskCommand.Options options(boolean stream) {
    return new AskCommand.Options(
        URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
        image,
        stream,
        true,
        64,
        "ferret-v2-dev",
        apiKey);
  }

  private int ask(boolean stream) throws Exception {
    return command().run(options(stream), "Where is the red object?");
  }

  /** A streamed answer of one text delta. */
  private static Canned answer(String text) {
    return new Canned(
        200,
        event(CHUNK.formatted("{\"role\":\"assistant\",\"content\":\"\"}", "null"))
            + event(
                CHUNK.formatted(
                    JsonMapper.shared().createObjectNode().put("content", text).toString(), "null"))
            + event(CHUNK.formatted("{}", "\"stop\""))
            + "data: [DONE]\n\n");
  }

  private static Canned refusal(String message) {
    return new Canned(
        400,
        "{\"error\":{\"message\":\""
            + message
            + "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_value\"}}");
  }

  private JsonNode sent(int request) {
    return JsonMapper.shared().readTree(requestBodies.get(request));
  }

  @Test
  void followUpsCarryTheEarlierQuestionsAndAnswersAsHistory() throws Exception {
    canned.add(answer("The red object is at [100, 150, 349, 499]."));
    canned.add(answer("The blue object is at [600, 550, 849, 899]."));
    canned.add(answer("It is blue."));

    int status =
        command()
            .run(
                options(true),
                List.of(
                    "Where is the red object?",
                    "And the blue one?",
                    "What is in [600, 550, 849, 899] <region_fea>?"),
                null,
                false);

    assertThat(status).isZero();
    assertThat(requestBodies).hasSize(3);
    JsonNode first = sent(0).get("messages");
    assertThat(first.size()).isEqualTo(1);
    assertThat(first.at("/0/content/1/image_url/url").stringValue())
        .isEqualTo("data:image/png;base64,iVBORw==");
    JsonNode second = sent(1).get("messages");
    assertThat(second.size()).isEqualTo(3);
    assertThat(second.at("/0/role").stringValue()).isEqualTo("user");
    assertThat(second.at("/0/content/0/text").stringValue()).isEqualTo("Where is the red object?");
    assertThat(second.at("/0/content/1/image_url/url").stringValue())
        .as("the image goes with the first user message")
        .isEqualTo("data:image/png;base64,iVBORw==");
    assertThat(second.at("/1/role").stringValue()).isEqualTo("assistant");
    assertThat(second.at("/1/content").stringValue())
        .isEqualTo("The red object is at [100, 150, 349, 499].");
    assertThat(second.at("/2/role").stringValue()).isEqualTo("user");
    assertThat(second.at("/2/content").size()).as("no second image").isEqualTo(1);
    assertThat(second.at("/2/content/0/text").stringValue()).isEqualTo("And the blue one?");
    JsonNode third = sent(2).get("messages");
    assertThat(third.size()).isEqualTo(5);
    assertThat(third.at("/2/content/0/text").stringValue()).isEqualTo("And the blue one?");
    assertThat(third.at("/3/content").stringValue())
        .isEqualTo("The blue object is at [600, 550, 849, 899].");
    assertThat(third.at("/4/content/0/text").stringValue())
        .as("a region reference is sent as written")
        .isEqualTo("What is in [600, 550, 849, 899] <region_fea>?");
    assertThat(out.toString(StandardCharsets.UTF_8))
        .isEqualTo(
            "> Where is the red object?\n"
                + "The red object is at [100, 150, 349, 499].\n\n"
                + "> And the blue one?\n"
                + "The blue object is at [600, 550, 849, 899].\n\n"
                + "> What is in [600, 550, 849, 899] <region_fea>?\n"
                + "It is blue.\n\n");
  }

  @Test
  void aFailedQuestionEndsAConversationFromTheCommandLine() throws Exception {
    canned.add(refusal("the question is too long"));

    int status =
        command()
            .run(
                options(true),
                List.of("Where is the red object?", "And the blue one?"),
                null,
                false);

    assertThat(status).isEqualTo(1);
    assertThat(requestBodies).hasSize(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("error: HTTP 400: the question is too long (invalid_value)")
        .contains("the 1 question(s) after the failed one were not asked");
  }

  @Test
  void interactiveModeAsksEachLineUntilAnEmptyOne() throws Exception {
    canned.add(answer("The red object is at [100, 150, 349, 499]."));
    canned.add(answer("The blue object is at [600, 550, 849, 899]."));
    String input = "Where is the red object?\n  And the blue one?  \n\nnever asked\n";

    int status = command().run(options(true), List.of(), new StringReader(input), false);

    assertThat(status).isZero();
    assertThat(requestBodies).hasSize(2);
    JsonNode second = sent(1).get("messages");
    assertThat(second.at("/0/content/0/text").stringValue()).isEqualTo("Where is the red object?");
    assertThat(second.at("/1/content").stringValue())
        .isEqualTo("The red object is at [100, 150, 349, 499].");
    assertThat(second.at("/2/content/0/text").stringValue()).isEqualTo("And the blue one?");
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("> And the blue one?\nThe blue object is at [600, 550, 849, 899].\n")
        .doesNotContain("never asked");
  }

  @Test
  void interactiveModeFollowsTheCommandLineQuestionsStopsAtExitAndPrompts() throws Exception {
    canned.add(answer("The red object is at [100, 150, 349, 499]."));
    canned.add(answer("The blue object is at [600, 550, 849, 899]."));

    int status =
        command()
            .run(
                options(true),
                List.of("Where is the red object?"),
                new StringReader("And the blue one?\nexit\nnever asked\n"),
                true);

    assertThat(status).isZero();
    assertThat(requestBodies).hasSize(2);
    assertThat(sent(1).at("/messages/2/content/0/text").stringValue())
        .isEqualTo("And the blue one?");
    // a prompt before each line read (after each answer's footer)
    assertThat(err.toString(StandardCharsets.UTF_8))
        .isEqualTo(
            "(finish: stop)\nQuestions about photo.png, one per line (an empty line, exit or end"
                + " of input ends the conversation):\n> (finish: stop)\n> ");
    // the typed question is on the terminal already: not echoed again
    assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("> And the blue one?");
  }

  @Test
  void interactiveModeLeavesAFailedQuestionOutReadsOnAndFailsAtTheEnd() throws Exception {
    canned.add(answer("The red object is at [100, 150, 349, 499]."));
    canned.add(refusal("bad region"));
    canned.add(answer("It is blue."));
    String input = "Where is the red object?\nWhat is in <region_fea>?\nAnd the blue one?\n";

    int status = command().run(options(true), List.of(), new StringReader(input), false);

    assertThat(status).isEqualTo(1);
    assertThat(requestBodies).hasSize(3);
    JsonNode third = sent(2).get("messages");
    assertThat(third.size()).as("the failed turn is not in the history").isEqualTo(3);
    assertThat(third.at("/2/content/0/text").stringValue()).isEqualTo("And the blue one?");
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("error: HTTP 400: bad region");
  }

  @Test
  void noQuestionAtAllIsAUsageError() throws Exception {
    assertThat(command().run(options(true), List.of(), new StringReader("\n"), false)).isEqualTo(2);
    assertThat(requestBodies).isEmpty();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("no question");
  }

  @Test
  void aNonStreamedAnswerJoinsTheHistoryToo() throws Exception {
    contentType = "application/json";
    responseBody =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Here.\"},"
            + "\"finish_reason\":\"stop\"}]}";

    assertThat(command().run(options(false), List.of("Where?", "And there?"), null, false))
        .isZero();
    assertThat(sent(1).at("/messages/1/content").stringValue()).isEqualTo("Here.");
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

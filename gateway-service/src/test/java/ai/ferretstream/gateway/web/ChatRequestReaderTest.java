package ai.ferretstream.gateway.web;

import static ai.ferretstream.gateway.web.TestRequests.body;
import static ai.ferretstream.gateway.web.TestRequests.dataUrl;
import static ai.ferretstream.gateway.web.TestRequests.png;
import static ai.ferretstream.gateway.web.TestRequests.quote;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.Turn;
import java.nio.charset.StandardCharsets;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class ChatRequestReaderTest {

  private final byte[] png = png();
  private final String image = dataUrl(png);
  private final ChatRequestReader reader =
      new ChatRequestReader(JsonMapper.shared(), TestRequests.properties(16, 10_000, 6));

  private ChatRequest read(String json) {
    return reader.read(json.getBytes(StandardCharsets.UTF_8));
  }

  private static void assertRejected(
      ThrowingCallable call, RequestRejected.Reason reason, String code, String param) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.param()).isEqualTo(param);
            });
  }

  @Test
  void readsASingleTurnQuestionWithItsImage() {
    ChatRequest request = read(body("Where is the red object?", image, ""));

    assertThat(request.model()).isEqualTo("ferret-v2-dev");
    assertThat(request.prompt()).isEqualTo("Where is the red object?");
    assertThat(request.history()).isEmpty();
    assertThat(request.regions()).isEmpty();
    assertThat(request.image().bytes()).isEqualTo(png);
    assertThat(request.image().mediaType()).isEqualTo("image/png");
    assertThat(request.stream()).isFalse();
    assertThat(request.includeUsage()).isFalse();
    assertThat(request.grounding()).isFalse();
    assertThat(request.options().getMaxTokens()).isEqualTo(256);
    assertThat(request.options().getHasSeed()).isFalse();
  }

  @Test
  void readsOptionsStreamingAndGrounding() {
    ChatRequest request =
        read(
            body(
                "q",
                image,
                "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"grounding\":true,"
                    + "\"max_tokens\":10,\"max_completion_tokens\":32,\"temperature\":0.5,"
                    + "\"top_p\":0.9,\"stop\":[\"</s>\",\"###\"],\"seed\":42,\"n\":1,"
                    + "\"unknown_field\":{\"ignored\":true}"));

    assertThat(request.stream()).isTrue();
    assertThat(request.includeUsage()).isTrue();
    assertThat(request.grounding()).isTrue();
    assertThat(request.options().getMaxTokens()).isEqualTo(32);
    assertThat(request.options().getTemperature()).isEqualTo(0.5f);
    assertThat(request.options().getTopP()).isEqualTo(0.9f);
    assertThat(request.options().getStopList()).containsExactly("</s>", "###");
    assertThat(request.options().getSeed()).isEqualTo(42);
    assertThat(request.options().getHasSeed()).isTrue();
  }

  @Test
  void acceptsASingleStopStringAndMaxTokens() {
    ChatRequest request = read(body("q", image, "\"stop\":\"END\",\"max_tokens\":7"));

    assertThat(request.options().getStopList()).containsExactly("END");
    assertThat(request.options().getMaxTokens()).isEqualTo(7);
  }

  @Test
  void turnsEarlierPairsIntoHistoryAndIgnoresSystemMessages() {
    String json =
        "{\"messages\":["
            + "{\"role\":\"system\",\"content\":\"be brief\"},"
            + "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + quote(image)
            + "}},{\"type\":\"text\",\"text\":\"What is in [1, 2, 3, 4] <region_fea>?\"}]},"
            + "{\"role\":\"assistant\",\"content\":\"A red square.\"},"
            + "{\"role\":\"user\",\"content\":\"And its colour?\"},"
            + "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Red.\"}]},"
            + "{\"role\":\"user\",\"content\":\"Is [10, 20, 30, 40] <region_fea> bigger than"
            + " [500, 600] <region_fea>?\"}]}";

    ChatRequest request = read(json);

    assertThat(request.history())
        .containsExactly(
            Turn.newBuilder()
                .setUser("What is in [1, 2, 3, 4] <region_fea>?")
                .setAssistant("A red square.")
                .addRegions(
                    Region.newBuilder()
                        .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                        .setNamedInText(true)
                        .setBox(Box.newBuilder().setX1(1).setY1(2).setX2(3).setY2(4)))
                .build(),
            Turn.newBuilder().setUser("And its colour?").setAssistant("Red.").build());
    assertThat(request.prompt())
        .isEqualTo("Is [10, 20, 30, 40] <region_fea> bigger than [500, 600] <region_fea>?");
    assertThat(request.regions()).hasSize(2);
    assertThat(request.regions().get(0).getBox())
        .isEqualTo(Box.newBuilder().setX1(10).setY1(20).setX2(30).setY2(40).build());
    assertThat(request.regions().get(0).getNamedInText()).isTrue();
    assertThat(request.regions().get(1).getPoint().getX()).isEqualTo(500);
    assertThat(request.image().bytes()).isEqualTo(png);
  }

  /** A conversation: the image and {@code first}, the answer, then {@code second}. */
  private String twoTurns(String first, String answer, String second) {
    return "{\"messages\":["
        + "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
        + quote(image)
        + "},{\"type\":\"text\",\"text\":"
        + quote(first)
        + "}]},"
        + "{\"role\":\"assistant\",\"content\":"
        + quote(answer)
        + "},"
        + "{\"role\":\"user\",\"content\":"
        + quote(second)
        + "}]}";
  }

  @Test
  void anEarlierTurnKeepsItsPointRegionsInOrder() {
    ChatRequest request =
        read(
            twoTurns(
                "Is [5, 6] <region_fea> left of [7, 8, 9, 10] <region_fea>?",
                "Yes.",
                "And this one? [500, 500] <region_fea>"));

    Turn turn = request.history().get(0);
    assertThat(turn.getRegionsList())
        .extracting(r -> r.getShapeCase().name())
        .containsExactly("POINT", "BOX");
    assertThat(turn.getRegions(0).getPoint().getY()).isEqualTo(6);
    assertThat(turn.getRegions(1).getBox().getX2()).isEqualTo(9);
    assertThat(request.regions()).hasSize(1);
  }

  @Test
  void anEarlierTurnsBareRegionTokenIsRefusedNamingItsMessage() {
    assertRejected(
        () -> read(twoTurns("What is <region_fea>?", "Red.", "And now?")),
        RequestRejected.Reason.INVALID,
        "unsupported_region",
        "messages[0].content");
  }

  @Test
  void anAssistantMessageCannotHoldARegionToken() {
    assertRejected(
        () -> read(twoTurns("What is it?", "It is [1, 2] <region_fea>.", "And now?")),
        RequestRejected.Reason.INVALID,
        "unsupported_region",
        "messages[1].content");
  }

  @Test
  void theRegionLimitCountsTheWholeConversation() {
    String five = "[1, 2] <region_fea> ".repeat(5);
    String four = "[3, 4] <region_fea> ".repeat(4);
    assertThat(read(twoTurns(five, "ok", "[3, 4] <region_fea> ".repeat(3))).regions()).hasSize(3);
    assertThatThrownBy(() -> read(twoTurns(five, "ok", four)))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_request");
              assertThat(e.param()).isEqualTo("messages");
            })
        .hasMessage(
            "the conversation refers to 9 regions (5 in earlier turns, 4 in the last message); at"
                + " most 8 per conversation");
  }

  @Test
  void joinsAnImageOnlyUserMessageWithTheQuestionAfterIt() {
    String json =
        "{\"messages\":["
            + "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
            + quote(image)
            + "}]},"
            + "{\"role\":\"user\",\"content\":\"Where is it?\"}]}";

    ChatRequest request = read(json);

    assertThat(request.prompt()).isEqualTo("Where is it?");
    assertThat(request.history()).isEmpty();
  }

  @Test
  void rejectsABareRegionToken() {
    assertRejected(
        () -> read(body("What is <region_fea>?", image, "")),
        RequestRejected.Reason.INVALID,
        "unsupported_region",
        "messages[0].content");
  }

  @Test
  void requiresExactlyOneImage() {
    assertRejected(
        () -> read("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
        RequestRejected.Reason.INVALID,
        "missing_image",
        "messages");
    String two =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + quote(image)
            + "}},{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + quote(image)
            + "}},{\"type\":\"text\",\"text\":\"q\"}]}]}";
    assertRejected(
        () -> read(two),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "messages[0].content[1]");
  }

  @Test
  void rejectsRemoteImageUrlsWhenFetchingIsOff() {
    assertRejected(
        () -> read(body("q", "https://example.com/a.png", "")),
        RequestRejected.Reason.INVALID,
        "unsupported_image_url",
        "messages[0].content[1].image_url.url");
  }

  @Test
  void rejectsNonImageDataUrls() {
    assertRejected(
        () -> read(body("q", "data:text/plain;base64,aGVsbG8=", "")),
        RequestRejected.Reason.INVALID,
        "invalid_image",
        "messages[0].content[1].image_url.url");
  }

  @Test
  void rejectsImagesAboveTheLimitAsTooLarge() {
    assertRejected(
        () -> read(body("q", dataUrl(new byte[20_000]), "")),
        RequestRejected.Reason.TOO_LARGE,
        "image_too_large",
        "messages[0].content[1].image_url.url");
  }

  @Test
  void rejectsTooManyMessages() {
    StringBuilder json = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < 7; i++) {
      json.append("{\"role\":\"user\",\"content\":\"x\"},");
    }
    json.append("{\"role\":\"user\",\"content\":\"q\"}]}");
    assertRejected(
        () -> read(json.toString()), RequestRejected.Reason.INVALID, "invalid_request", "messages");
  }

  @Test
  void rejectsTooMuchText() {
    assertRejected(
        () -> read(body("x".repeat(2001), image, "")),
        RequestRejected.Reason.INVALID,
        "context_length_exceeded",
        "messages");
  }

  @Test
  void requiresTheLastMessageToComeFromTheUser() {
    String json =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + quote(image)
            + "}},{\"type\":\"text\",\"text\":\"q\"}]},{\"role\":\"assistant\",\"content\":\"a\"}]}";
    assertRejected(
        () -> read(json), RequestRejected.Reason.INVALID, "invalid_request", "messages[1].role");
  }

  @Test
  void rejectsAnEmptyQuestion() {
    assertRejected(
        () -> read(body("  ", image, "")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "messages[0].content");
  }

  @Test
  void answersAnUnknownModelWithNotFound() {
    assertRejected(
        () -> read(body("q", image, "").replace("ferret-v2-dev", "gpt-4o")),
        RequestRejected.Reason.NOT_FOUND,
        "model_not_found",
        "model");
  }

  @Test
  void rejectsOutOfRangeOptionsNamingTheField() {
    assertRejected(
        () -> read(body("q", image, "\"max_tokens\":0")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "max_tokens");
    assertRejected(
        () -> read(body("q", image, "\"max_completion_tokens\":5000")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "max_completion_tokens");
    assertRejected(
        () -> read(body("q", image, "\"temperature\":3")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "temperature");
    assertRejected(
        () -> read(body("q", image, "\"top_p\":0")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "top_p");
    assertRejected(
        () -> read(body("q", image, "\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "stop");
    assertRejected(
        () -> read(body("q", image, "\"seed\":\"x\"")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "seed");
    assertRejected(
        () -> read(body("q", image, "\"n\":2")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "n");
    assertRejected(
        () -> read(body("q", image, "\"stream\":\"yes\"")),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "stream");
  }

  @Test
  void rejectsMalformedBodies() {
    assertRejected(
        () -> read("{not json"), RequestRejected.Reason.INVALID, "invalid_request", null);
    assertRejected(() -> read("[1]"), RequestRejected.Reason.INVALID, "invalid_request", null);
    assertRejected(
        () -> read("{\"messages\":[]}"),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "messages");
    assertRejected(
        () -> read("{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}"),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "messages[0].role");
    assertRejected(
        () -> read("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"audio\"}]}]}"),
        RequestRejected.Reason.INVALID,
        "invalid_request",
        "messages[0].content[0].type");
  }
}

package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Turn;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The native API's history: earlier turns keep their regions (the image is 64x48). */
class NativeAskReaderTest {

  private final GatewayProperties properties = TestRequests.properties(16, 1_000_000, 16);
  private final NativeAskReader reader =
      new NativeAskReader(new ChatRequestReader(JsonMapper.shared(), properties), properties);
  private final String image = Base64.getEncoder().encodeToString(TestRequests.png());

  private ChatRequest read(String history, String question, String regions) {
    String json =
        "{\"question\":"
            + TestRequests.quote(question)
            + ",\"regions\":"
            + regions
            + ",\"history\":"
            + history
            + ",\"image\":\""
            + image
            + "\"}";
    return reader.read(json.getBytes(StandardCharsets.UTF_8)).request();
  }

  private static void assertRejected(Runnable call, String code, String param, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.param()).isEqualTo(param);
            })
        .hasMessageContaining(message);
  }

  @Test
  void historyEntriesKeepTheirRegionsInPixels() {
    ChatRequest request =
        read(
            "[{\"user\":\"What is <region_fea>?\",\"assistant\":\"It is red.\","
                + "\"regions\":[{\"box\":[8,8,23,23]}]},"
                + "{\"user\":\"And its size?\",\"assistant\":\"Small.\"}]",
            "And this one? <region_fea>",
            "[{\"point\":[40,30]}]");

    Turn first = request.history().get(0);
    assertThat(first.getUser()).isEqualTo("What is <region_fea>?");
    assertThat(first.getRegionsCount()).isEqualTo(1);
    assertThat(first.getRegions(0).getSpace()).isEqualTo(CoordinateSpace.COORDINATE_SPACE_PIXELS);
    assertThat(first.getRegions(0).getBox().getX2()).isEqualTo(23);
    assertThat(first.getRegions(0).getNamedInText()).isFalse();
    assertThat(request.history().get(1).getRegionsCount()).isZero();
    assertThat(request.regions()).hasSize(1);
  }

  @Test
  void anEntryWithoutPlaceholdersGetsOnePerRegion() {
    ChatRequest request =
        read(
            "[{\"user\":\"What are these?\",\"assistant\":\"Red and white.\","
                + "\"regions\":[{\"box\":[8,8,23,23]},{\"point\":[1,1]}]}]",
            "And now?",
            "[]");
    assertThat(request.history().get(0).getUser())
        .isEqualTo("What are these? <region_fea> <region_fea>");
  }

  @Test
  void placeholdersAndRegionsOfAnEntryMustMatch() {
    assertRejected(
        () ->
            read("[{\"user\":\"What is <region_fea>?\",\"assistant\":\"Red.\"}]", "And now?", "[]"),
        "unsupported_region",
        "history[0].regions",
        "history[0].user has 1 <region_fea> but 0 regions were given");
    assertRejected(
        () ->
            read(
                "[{\"user\":\"Is <region_fea> left of <region_fea>?\",\"assistant\":\"No.\","
                    + "\"regions\":[{\"point\":[1,1]}]}]",
                "And now?",
                "[]"),
        "unsupported_region",
        "history[0].regions",
        "history[0].user has 2 <region_fea> but 1 regions were given");
  }

  @Test
  void anEntrysRegionsAreCheckedLikeTheQuestions() {
    assertRejected(
        () ->
            read(
                "[{\"user\":\"What is it?\",\"assistant\":\"Red.\","
                    + "\"regions\":[{\"box\":[8,8,200,23]}]}]",
                "And now?",
                "[]"),
        "invalid_region",
        "history[0].regions[0]",
        "history[0].regions[0].box [8, 8, 200, 23] lies outside the 64x48 image");
    assertRejected(
        () ->
            read(
                "[{\"user\":\"What is it?\",\"assistant\":\"Red.\","
                    + "\"regions\":[{\"circle\":[1,1]}]}]",
                "And now?",
                "[]"),
        "invalid_request",
        "history[0].regions[0]",
        "must be one of box, point, polygon, mask_png");
  }

  @Test
  void theRegionLimitCountsTheWholeConversation() {
    String five = "[" + "{\"point\":[1,1]},".repeat(4) + "{\"point\":[1,1]}]";
    String four = "[" + "{\"point\":[2,2]},".repeat(3) + "{\"point\":[2,2]}]";
    assertRejected(
        () ->
            read(
                "[{\"user\":\"a\",\"assistant\":\"b\",\"regions\":" + five + "}]",
                "And these?",
                four),
        "invalid_request",
        "history",
        "the conversation refers to more than 8 regions");
  }

  @Test
  void anEarlierAnswerCannotHoldARegionToken() {
    assertRejected(
        () -> read("[{\"user\":\"a\",\"assistant\":\"It is <region_fea>.\"}]", "And now?", "[]"),
        "unsupported_region",
        "history[0].assistant",
        "cannot hold <region_fea>");
  }
}

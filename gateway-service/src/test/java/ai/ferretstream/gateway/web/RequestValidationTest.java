package ai.ferretstream.gateway.web;

import static ai.ferretstream.gateway.web.TestRequests.body;
import static ai.ferretstream.gateway.web.TestRequests.dataUrl;
import static ai.ferretstream.gateway.web.TestRequests.png;
import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.config.InstanceId;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.gateway.messaging.RequestPublisher;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bad input to both APIs gets a 4xx in the OpenAI shape with its true reason, and nothing is
 * published: regions outside the image, malformed region coordinates in chat text, bodies that are
 * not JSON.
 */
class RequestValidationTest {

  /** The size of {@link TestRequests#png()}. */
  private static final int W = 64;

  private static final int H = 48;

  private final JsonMapper json = JsonMapper.shared();
  private final TopicCatalog catalog = TopicCatalog.defaults();
  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();
  private MockMvc mvc;

  @BeforeEach
  void start() {
    GatewayProperties properties = TestRequests.properties();
    @SuppressWarnings("unchecked")
    KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            invocation -> {
              sent.add(invocation.getArgument(0));
              return CompletableFuture.completedFuture(null);
            });
    PendingRequests pending = new PendingRequests(properties.maxInFlight(), "gateway-service");
    ReplyPartitions partitions = new ReplyPartitions(catalog.answers(), pending);
    partitions.onPartitionsAssigned(
        mock(Consumer.class), List.of(new TopicPartition(catalog.answers(), 0)));
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    AskDispatch dispatch =
        new AskDispatch(
            properties,
            catalog,
            new InstanceId("gateway-test"),
            pending,
            partitions,
            new RequestPublisher(kafka, catalog, properties.sendTimeout(), "gateway-service"),
            Runnable::run,
            Clock.systemUTC(),
            meters);
    ChatRequestReader reader = new ChatRequestReader(json, properties);
    mvc =
        MockMvcBuilders.standaloneSetup(
                new ChatCompletionsController(reader, json, properties, dispatch),
                new NativeAskController(reader, json, properties, dispatch))
            .setControllerAdvice(new ApiErrorHandler(json, meters))
            .build();
  }

  private MvcResult post(String path, String contentType, String body) throws Exception {
    var request = org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post(path);
    if (contentType != null) {
      request.contentType(contentType);
    }
    return mvc.perform(request.content(body)).andReturn();
  }

  private MvcResult ask(String regions) throws Exception {
    return post(
        "/v1/ferret/ask",
        "application/json",
        "{\"question\":\"What is this?\",\"image\":\""
            + Base64.getEncoder().encodeToString(png())
            + "\",\"regions\":"
            + regions
            + "}");
  }

  private JsonNode error(MvcResult result) throws Exception {
    return json.readTree(result.getResponse().getContentAsString()).get("error");
  }

  private List<AskRequest> published() {
    return sent.stream()
        .filter(r -> r.topic().equals(catalog.requests()))
        .map(r -> (AskRequest) r.value())
        .toList();
  }

  // ---------------------------------------------------------------------------------------------
  // regions of the native API lie on the image

  @Test
  void refusesANativeBoxOutsideTheImageNamingTheRegionAndTheImageSize() throws Exception {
    MvcResult result = ask("[{\"box\":[10,10,200,20]}]");

    assertThat(result.getResponse().getStatus()).isEqualTo(400);
    JsonNode error = error(result);
    assertThat(error.get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(error.get("code").stringValue()).isEqualTo("invalid_region");
    assertThat(error.get("param").stringValue()).isEqualTo("regions[0]");
    assertThat(error.get("message").stringValue())
        .isEqualTo(
            "regions[0].box [10, 10, 200, 20] lies outside the 64x48 image: coordinates must be"
                + " x 0..64, y 0..48 (pixels of the image as displayed)");
    assertThat(published()).isEmpty();
  }

  @Test
  void refusesNativePointsAndPolygonVerticesOutsideTheImage() throws Exception {
    MvcResult point = ask("[{\"point\":[5,48]},{\"point\":[5,49]}]");
    MvcResult polygon = ask("[{\"polygon\":[[1,1],[9,1],[5,480]]}]");

    assertThat(point.getResponse().getStatus()).isEqualTo(400);
    // the first point is on the image's edge; the second is below it
    assertThat(error(point).get("message").stringValue())
        .startsWith("regions[1].point [5, 49] lies outside the 64x48 image");
    assertThat(polygon.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(polygon).get("message").stringValue())
        .startsWith("regions[0].polygon[2] [5, 480] lies outside the 64x48 image");
    assertThat(published()).isEmpty();
  }

  @Test
  void acceptsNativeRegionsUpToTheImagesEdge() throws Exception {
    MvcResult result = ask("[{\"box\":[0,0," + W + "," + H + "]}]");

    assertThat(result.getRequest().isAsyncStarted())
        .as(result.getResponse().getContentAsString())
        .isTrue();
    assertThat(published()).singleElement();
  }

  @Test
  void refusesANativeMaskOfAnotherSizeThanTheImage() throws Exception {
    byte[] mask =
        ai.ferretstream.testsupport.TestImages.png(
            ai.ferretstream.testsupport.TestImages.plain(10, 10, java.awt.Color.WHITE));

    MvcResult result = ask("[{\"mask_png\":\"" + Base64.getEncoder().encodeToString(mask) + "\"}]");

    assertThat(result.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(result).get("message").stringValue())
        .isEqualTo("regions[0].mask_png is 10x10; it must be the image's size, 64x48");
  }

  // ---------------------------------------------------------------------------------------------
  // region coordinates in chat text

  private MvcResult chat(String question) throws Exception {
    return post("/v1/chat/completions", "application/json", body(question, dataUrl(png()), ""));
  }

  @Test
  void saysWhyChatRegionCoordinatesAreNotValid() throws Exception {
    MvcResult negative = chat("What is [-10, 20, 30, 40] <region_fea>?");
    MvcResult nan = chat("What is [NaN, 20, 30, 40] <region_fea>?");
    MvcResult fraction = chat("What is [10, 20.5] <region_fea>?");
    MvcResult three = chat("What is [10, 20, 30] <region_fea>?");

    assertThat(List.of(negative, nan, fraction, three))
        .allSatisfy(r -> assertThat(r.getResponse().getStatus()).isEqualTo(400));
    assertThat(error(negative).get("code").stringValue()).isEqualTo("unsupported_region");
    assertThat(error(negative).get("message").stringValue())
        .contains("[-10, 20, 30, 40]")
        .contains("-10 is negative")
        .doesNotContain("no coordinates");
    assertThat(error(nan).get("message").stringValue())
        .contains("NaN is not a number")
        .doesNotContain("no coordinates");
    assertThat(error(fraction).get("message").stringValue())
        .contains("20.5 is not an integer")
        .doesNotContain("no coordinates");
    assertThat(error(three).get("message").stringValue())
        .contains("has 3 coordinates")
        .doesNotContain("no coordinates");
    assertThat(published()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // bodies that are not JSON

  @Test
  void refusesBodiesThatAreNotJsonWithUnsupportedMediaType() throws Exception {
    String body = body("q", dataUrl(png()), "");
    MvcResult text = post("/v1/chat/completions", "text/plain", body);
    MvcResult form = post("/v1/chat/completions", "application/x-www-form-urlencoded", body);
    MvcResult nativeText = post("/v1/ferret/ask", "text/plain", "{\"question\":\"q\"}");
    MvcResult nativeMixed = post("/v1/ferret/ask", "multipart/mixed; boundary=x", "--x--");
    MvcResult garbage = post("/v1/chat/completions", "not a type", body);

    for (MvcResult r : List.of(text, form, nativeText, nativeMixed)) {
      assertThat(r.getResponse().getStatus()).isEqualTo(415);
      assertThat(error(r).get("type").stringValue()).isEqualTo("invalid_request_error");
      assertThat(error(r).get("code").stringValue()).isEqualTo("unsupported_media_type");
    }
    assertThat(error(text).get("message").stringValue())
        .isEqualTo("the Content-Type 'text/plain' is not supported here; send application/json");
    assertThat(error(nativeMixed).get("message").stringValue()).contains("multipart/form-data");
    assertThat(garbage.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(garbage).get("code").stringValue()).isEqualTo("invalid_content_type");
    assertThat(published()).isEmpty();
  }

  @Test
  void takesJsonWithACharsetASuffixOrNoContentTypeAtAll() throws Exception {
    String body = body("q", dataUrl(png()), "");

    MvcResult charset = post("/v1/chat/completions", "application/json; charset=utf-8", body);
    MvcResult suffix = post("/v1/chat/completions", "application/vnd.example+json", body);
    MvcResult none = post("/v1/chat/completions", null, body);

    for (MvcResult r : List.of(charset, suffix, none)) {
      assertThat(r.getRequest().isAsyncStarted()).as(r.getResponse().getContentAsString()).isTrue();
    }
    assertThat(published()).hasSize(3);
  }

  @Test
  void mapsAPipelineRegionRefusalToBadRequest() {
    assertThat(
            ErrorCodes.status(
                ai.ferretstream.proto.v1.Error.newBuilder()
                    .setCode("invalid_region")
                    .setRetryable(false)
                    .build()))
        .isEqualTo(400);
  }
}

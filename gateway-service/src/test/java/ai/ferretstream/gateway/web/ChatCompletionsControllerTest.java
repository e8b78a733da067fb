package ai.ferretstream.gateway.web;

import static ai.ferretstream.gateway.web.TestRequests.body;
import static ai.ferretstream.gateway.web.TestRequests.dataUrl;
import static ai.ferretstream.gateway.web.TestRequests.png;
import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.config.InstanceId;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.gateway.messaging.RequestPublisher;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.TextDelta;
import ai.ferretstream.proto.v1.Usage;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.mock.web.MockAsyncContext;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ChatCompletionsControllerTest {

  private static final long NOW = 1_700_000_000_000L;

  private final JsonMapper json = JsonMapper.shared();
  private final TopicCatalog catalog = TopicCatalog.defaults();
  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();
  private CompletableFuture<Object> sendResult = CompletableFuture.completedFuture(null);
  private PendingRequests pending;
  private ReplyPartitions partitions;
  private MockMvc mvc;
  private AskDispatch dispatch;
  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();

  private void start(GatewayProperties properties, Integer... ownedPartitions) {
    @SuppressWarnings("unchecked")
    KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            invocation -> {
              @SuppressWarnings("unchecked")
              ProducerRecord<String, Object> record = invocation.getArgument(0);
              sent.add(record);
              return record.topic().equals(catalog.requests())
                  ? sendResult
                  : CompletableFuture.completedFuture(null);
            });
    pending = new PendingRequests(properties.maxInFlight(), "gateway-service");
    partitions = new ReplyPartitions(catalog.answers(), pending);
    List<TopicPartition> assigned = new ArrayList<>();
    for (int p : ownedPartitions) {
      assigned.add(new TopicPartition(catalog.answers(), p));
    }
    partitions.onPartitionsAssigned(mock(Consumer.class), assigned);
    Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);
    RequestPublisher publisher =
        new RequestPublisher(kafka, catalog, properties.sendTimeout(), "gateway-service");
    dispatch =
        new AskDispatch(
            properties,
            catalog,
            new InstanceId("gateway-test"),
            pending,
            partitions,
            publisher,
            Runnable::run,
            clock,
            meters);
    ChatCompletionsController controller =
        new ChatCompletionsController(
            new ChatRequestReader(json, properties), json, properties, dispatch);
    mvc =
        MockMvcBuilders.standaloneSetup(
                controller,
                new ModelsController(json, properties, clock),
                new NativeAskController(
                    new ChatRequestReader(json, properties), json, properties, dispatch))
            .setControllerAdvice(new ApiErrorHandler(json, meters))
            .build();
  }

  private MvcResult send(String body) throws Exception {
    return mvc.perform(post("/v1/chat/completions").contentType("application/json").content(body))
        .andReturn();
  }

  private AskRequest published() {
    return sent.stream()
        .filter(r -> r.topic().equals(catalog.requests()))
        .map(r -> (AskRequest) r.value())
        .reduce((a, b) -> b)
        .orElseThrow();
  }

  private JsonNode error(MvcResult result) throws Exception {
    return json.readTree(result.getResponse().getContentAsString()).get("error");
  }

  private static AnswerEvent.Builder event(String id, long seq) {
    return AnswerEvent.newBuilder().setRequestId(id).setSeq(seq);
  }

  @Test
  void publishesTheRequestWithThisInstancesReplyPartition() throws Exception {
    start(TestRequests.properties(), 1, 3);

    send(body("Where is [1, 2, 3, 4] <region_fea>?", dataUrl(png()), "\"grounding\":true"));
    AskRequest first = published();
    send(body("again", dataUrl(png()), ""));
    AskRequest second = published();

    assertThat(first.getContext().getRequestId()).startsWith("chatcmpl-");
    assertThat(first.getContext().getReplyTo().getTopic()).isEqualTo("ferret.answers");
    assertThat(first.getContext().getReplyTo().getInstance()).isEqualTo("gateway-test");
    assertThat(
            List.of(
                first.getContext().getReplyTo().getPartition(),
                second.getContext().getReplyTo().getPartition()))
        .containsExactlyInAnyOrder(1, 3);
    assertThat(first.getContext().getDeadlineUnixMs()).isEqualTo(NOW + 60_000);
    assertThat(first.getContext().getCreatedUnixMs()).isEqualTo(NOW);
    assertThat(first.getContext().getTimingsMap()).containsEntry("gateway.accepted", NOW);
    assertThat(first.getContext().getRegionsCount()).isEqualTo(1);
    assertThat(first.getContext().getGrounding()).isTrue();
    assertThat(first.getContext().getOptions().getMaxTokens()).isEqualTo(256);
    assertThat(first.getImage().toByteArray()).isEqualTo(png());
    assertThat(pending.size()).isEqualTo(2);
  }

  @Test
  void streamsEventsAsServerSentEventsEndingWithDone() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result =
        send(
            body(
                "Where is the red object?",
                dataUrl(png()),
                "\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
    String id = published().getContext().getRequestId();
    assertThat(result.getRequest().isAsyncStarted()).isTrue();
    pending.dispatch(event(id, 0).setDelta(TextDelta.newBuilder().setText("It is")).build());
    AnswerEvent box =
        event(id, 1)
            .setBox(
                GroundedBox.newBuilder()
                    .setPhrase("It")
                    .setBox999(Box.newBuilder().setX1(1).setY1(2).setX2(3).setY2(4))
                    .setBoxPixels(Box.newBuilder().setX1(0).setY1(0).setX2(1).setY2(1)))
            .build();
    pending.dispatch(box);
    pending.dispatch(box); // redelivered: dropped
    pending.dispatch(event(id, 2).setDelta(TextDelta.newBuilder().setText(" here.")).build());
    pending.dispatch(
        event(id, 3)
            .setDone(
                Done.newBuilder()
                    .setFinishReason("stop")
                    .setUsage(Usage.newBuilder().setPromptTokens(7).setCompletionTokens(3)))
            .build());

    assertThat(result.getResponse().getContentType()).isEqualTo("text/event-stream");
    String[] events = result.getResponse().getContentAsString().split("\n\n", -1);
    assertThat(events).hasSize(8);
    assertThat(events[events.length - 1]).isEmpty();
    List<JsonNode> chunks = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      assertThat(events[i]).startsWith("data: {").doesNotContain("\n");
      chunks.add(json.readTree(events[i].substring("data: ".length())));
    }
    assertThat(events[6]).isEqualTo("data: [DONE]");
    assertThat(chunks).allSatisfy(c -> assertThat(c.get("id").stringValue()).isEqualTo(id));
    assertThat(chunks.get(0).at("/choices/0/delta/role").stringValue()).isEqualTo("assistant");
    assertThat(chunks.get(1).at("/choices/0/delta/content").stringValue()).isEqualTo("It is");
    assertThat(chunks.get(2).at("/choices/0/delta/content").isMissingNode()).isTrue();
    assertThat(chunks.get(2).at("/choices/0/delta/boxes/0/box").toString()).isEqualTo("[1,2,3,4]");
    assertThat(chunks.get(3).at("/choices/0/delta/content").stringValue()).isEqualTo(" here.");
    assertThat(chunks.get(4).at("/choices/0/finish_reason").stringValue()).isEqualTo("stop");
    assertThat(chunks.get(5).get("choices").isEmpty()).isTrue();
    assertThat(chunks.get(5).at("/usage/total_tokens").intValue()).isEqualTo(10);
    assertThat(pending.size()).isZero();
    assertThat(meters.get("ferret.time.to.first.token").timer().count()).isEqualTo(1);
    assertThat(meters.get("ferret.time.per.output.token").timer().count()).isEqualTo(1);
    assertThat(meters.get("ferret.e2e.request.latency").timer().count()).isEqualTo(1);
    assertThat(
            meters.get("ferret.request.success").tag("finished_reason", "stop").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void streamsAnErrorEventAsAnErrorChunkThenDone() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result = send(body("q", dataUrl(png()), "\"stream\":true"));
    String id = published().getContext().getRequestId();
    pending.dispatch(
        AnswerEvents.error(id, "tiler-service", "invalid_image", "not an image", false));

    String[] events = result.getResponse().getContentAsString().split("\n\n");
    assertThat(events).hasSize(3);
    JsonNode error = json.readTree(events[1].substring("data: ".length())).get("error");
    assertThat(error.get("code").stringValue()).isEqualTo("invalid_image");
    assertThat(error.get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(error.get("message").stringValue()).isEqualTo("not an image");
    assertThat(events[2]).isEqualTo("data: [DONE]");
  }

  @Test
  void answersANonStreamedRequestWithOneCompletionBody() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result = send(body("q", dataUrl(png()), ""));
    String id = published().getContext().getRequestId();
    pending.dispatch(event(id, 0).setDelta(TextDelta.newBuilder().setText("Red ")).build());
    pending.dispatch(event(id, 1).setDelta(TextDelta.newBuilder().setText("square.")).build());
    pending.dispatch(event(id, 2).setDone(Done.newBuilder().setFinishReason("stop")).build());

    assertThat(result.getResponse().getStatus()).isEqualTo(200);
    assertThat(result.getResponse().getContentType()).isEqualTo("application/json");
    JsonNode body = json.readTree(result.getResponse().getContentAsString());
    assertThat(body.get("object").stringValue()).isEqualTo("chat.completion");
    assertThat(body.at("/choices/0/message/content").stringValue()).isEqualTo("Red square.");
    assertThat(body.at("/choices/0/finish_reason").stringValue()).isEqualTo("stop");
  }

  @Test
  void mapsErrorEventsOfNonStreamedRequestsToHttpStatuses() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult timedOut = send(body("q", dataUrl(png()), ""));
    pending.dispatch(
        AnswerEvents.error(
            published().getContext().getRequestId(),
            "llm-service",
            "deadline_exceeded",
            "late",
            true));
    MvcResult rejected = send(body("q", dataUrl(png()), ""));
    pending.dispatch(
        AnswerEvents.error(
            published().getContext().getRequestId(),
            "encoder-service",
            "inference_rejected",
            "bad tensor",
            false));

    assertThat(timedOut.getResponse().getStatus()).isEqualTo(504);
    assertThat(error(timedOut).get("code").stringValue()).isEqualTo("deadline_exceeded");
    assertThat(error(timedOut).get("type").stringValue()).isEqualTo("server_error");
    assertThat(rejected.getResponse().getStatus()).isEqualTo(502);
  }

  @Test
  void rejectsInvalidRequestsWithTheOpenAiErrorShapeAndPublishesNothing() throws Exception {
    start(TestRequests.properties(16, 100, 16), 0);

    MvcResult bare = send(body("What is <region_fea>?", "data:image/png;base64,AAEC", ""));
    MvcResult large = send(body("q", dataUrl(png()), ""));
    MvcResult remote = send(body("q", "http://example.com/a.png", ""));

    assertThat(bare.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(bare).get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(error(bare).get("code").stringValue()).isEqualTo("unsupported_region");
    assertThat(error(bare).get("param").stringValue()).isEqualTo("messages[0].content");
    assertThat(error(bare).get("message").stringValue()).contains("no coordinates");
    assertThat(large.getResponse().getStatus()).isEqualTo(413);
    assertThat(error(large).get("code").stringValue()).isEqualTo("image_too_large");
    assertThat(remote.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(remote).get("message").stringValue()).contains("turned off");
    assertThat(sent).isEmpty();
    assertThat(pending.size()).isZero();
  }

  @Test
  void refusesBodiesAboveTheLimitAsTooLarge() throws Exception {
    start(TestRequests.properties(16, 1_000_000, 16, DataSize.ofBytes(1024)), 0);

    MvcResult result = send(body("x".repeat(1500), dataUrl(png()), ""));

    assertThat(result.getResponse().getStatus()).isEqualTo(413);
    assertThat(error(result).get("code").stringValue()).isEqualTo("request_too_large");
    assertThat(error(result).get("message").stringValue()).contains("larger than 1024 bytes");
    assertThat(sent).isEmpty();
  }

  @Test
  void refusesRequestsWithServiceUnavailableUntilAPartitionIsAssigned() throws Exception {
    start(TestRequests.properties());

    MvcResult result = send(body("q", dataUrl(png()), ""));

    assertThat(result.getResponse().getStatus()).isEqualTo(503);
    assertThat(result.getResponse().getHeader("Retry-After")).isEqualTo("1");
    assertThat(error(result).get("code").stringValue()).isEqualTo("service_unavailable");
    assertThat(sent).isEmpty();
  }

  @Test
  void refusesRequestsBeyondMaxInFlightWithTooManyRequests() throws Exception {
    start(TestRequests.properties(1, 1_000_000, 16), 0);

    MvcResult first = send(body("q", dataUrl(png()), ""));
    MvcResult second = send(body("q", dataUrl(png()), ""));

    assertThat(first.getRequest().isAsyncStarted()).isTrue();
    assertThat(second.getResponse().getStatus()).isEqualTo(429);
    assertThat(second.getResponse().getHeader("Retry-After")).isEqualTo("1");
    assertThat(error(second).get("type").stringValue()).isEqualTo("rate_limit_error");
  }

  @Test
  void answersServiceUnavailableAtOnceWhenTheBrokerRefusesTheRequest() throws Exception {
    start(TestRequests.properties(), 0);
    sendResult = CompletableFuture.failedFuture(new IllegalStateException("broker down"));

    MvcResult result = send(body("q", dataUrl(png()), "\"stream\":true"));

    assertThat(result.getRequest().isAsyncStarted()).isFalse();
    assertThat(result.getResponse().getStatus()).isEqualTo(503);
    assertThat(error(result).get("code").stringValue()).isEqualTo("queue_unavailable");
    assertThat(error(result).get("message").stringValue()).contains("broker down");
    assertThat(pending.size()).isZero();
  }

  @Test
  void cancelsTheRequestDownstreamWhenTheClientGoesAway() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result = send(body("q", dataUrl(png()), "\"stream\":true"));
    String id = published().getContext().getRequestId();
    MockAsyncContext async = (MockAsyncContext) result.getRequest().getAsyncContext();
    for (AsyncListener listener : async.getListeners()) {
      listener.onError(new AsyncEvent(async, new java.io.IOException("connection reset")));
    }

    assertThat(pending.isPending(id)).isFalse();
    assertThat(sent)
        .filteredOn(r -> r.topic().equals("ferret.control"))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.key()).isEqualTo(id);
              assertThat(((Cancel) r.value()).getRequestId()).isEqualTo(id);
            });
  }

  @Test
  void listsTheServedModel() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result = mvc.perform(get("/v1/models")).andReturn();

    JsonNode body = json.readTree(result.getResponse().getContentAsString());
    assertThat(body.get("object").stringValue()).isEqualTo("list");
    assertThat(body.at("/data/0/id").stringValue()).isEqualTo("ferret-v2-dev");
    assertThat(body.at("/data/0/object").stringValue()).isEqualTo("model");
    assertThat(body.at("/data/0/owned_by").stringValue()).isEqualTo("ferret-stream");
    assertThat(body.at("/data/0/created").longValue()).isEqualTo(NOW / 1000);
  }

  // ---------------------------------------------------------------------------------------------
  // the native API, POST /v1/ferret/ask

  private MvcResult ask(String body) throws Exception {
    return mvc.perform(post("/v1/ferret/ask").contentType("application/json").content(body))
        .andReturn();
  }

  private String nativeBody(String question, String regions, String extra) {
    return "{\"question\":\""
        + question
        + "\",\"image\":\""
        + java.util.Base64.getEncoder().encodeToString(png())
        + "\""
        + (regions.isEmpty() ? "" : ",\"regions\":" + regions)
        + (extra.isEmpty() ? "" : "," + extra)
        + "}";
  }

  @Test
  void nativeAskPublishesRegionsOfEveryShapeInPixels() throws Exception {
    start(TestRequests.properties(), 0);
    String mask = java.util.Base64.getEncoder().encodeToString(png());

    MvcResult result =
        ask(
            nativeBody(
                "Compare <region_fea>, <region_fea>, <region_fea> and <region_fea>.",
                "[{\"box\":[10,20,30,40]},{\"point\":[5,6]},"
                    + "{\"polygon\":[[1,1],[9,1],[5,8]]},{\"mask_png\":\""
                    + mask
                    + "\"}]",
                "\"grounding\":true,\"timeout_ms\":5000,\"max_tokens\":32"));

    assertThat(result.getRequest().isAsyncStarted()).isTrue();
    AskRequest ask = published();
    var regions = ask.getContext().getRegionsList();
    assertThat(regions).hasSize(4);
    assertThat(regions)
        .allMatch(
            r ->
                r.getSpace() == ai.ferretstream.proto.v1.CoordinateSpace.COORDINATE_SPACE_PIXELS
                    && !r.getNamedInText());
    assertThat(regions.get(0).getBox().getX2()).isEqualTo(30);
    assertThat(regions.get(1).getPoint().getY()).isEqualTo(6);
    assertThat(regions.get(2).getPolygon().getVerticesCount()).isEqualTo(3);
    assertThat(regions.get(3).getMaskPng().toByteArray()).isEqualTo(png());
    assertThat(ask.getContext().getGrounding()).isTrue();
    assertThat(ask.getContext().getOptions().getMaxTokens()).isEqualTo(32);
    assertThat(ask.getContext().getDeadlineUnixMs()).isEqualTo(NOW + 5000);
    assertThat(ask.getImage().toByteArray()).isEqualTo(png());
  }

  @Test
  void nativeAskAppendsOneTokenPerRegionWhenTheQuestionHasNone() throws Exception {
    start(TestRequests.properties(), 0);

    ask(nativeBody("What colour is this?", "[{\"point\":[5,6]}]", ""));

    assertThat(published().getContext().getPrompt()).isEqualTo("What colour is this? <region_fea>");
  }

  @Test
  void nativeAskStreamsNamedEvents() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult result = ask(nativeBody("Where is it?", "", ""));
    String id = published().getContext().getRequestId();
    pending.dispatch(event(id, 0).setDelta(TextDelta.newBuilder().setText("There")).build());
    pending.dispatch(
        event(id, 1)
            .setBox(
                GroundedBox.newBuilder()
                    .setPhrase("There")
                    .setBox999(Box.newBuilder().setX1(1).setY1(2).setX2(3).setY2(4))
                    .setBoxPixels(Box.newBuilder().setX1(5).setY1(6).setX2(7).setY2(8)))
            .build());
    pending.dispatch(
        event(id, 2)
            .setDone(
                Done.newBuilder()
                    .setFinishReason("stop")
                    .putTimings("gateway.accepted", 1)
                    .setUsage(Usage.newBuilder().setPromptTokens(7).setCompletionTokens(3)))
            .build());

    assertThat(result.getResponse().getContentType()).isEqualTo("text/event-stream");
    String[] events = result.getResponse().getContentAsString().split("\n\n");
    assertThat(events).hasSize(3);
    assertThat(events[0]).isEqualTo("event: delta\ndata: {\"text\":\"There\"}");
    assertThat(events[1]).startsWith("event: box\ndata: ");
    JsonNode box = json.readTree(events[1].substring(events[1].indexOf('{')));
    assertThat(box.get("box_pixels").toString()).isEqualTo("[5,6,7,8]");
    assertThat(events[2]).startsWith("event: done\ndata: ");
    JsonNode done = json.readTree(events[2].substring(events[2].indexOf('{')));
    assertThat(done.get("finish_reason").stringValue()).isEqualTo("stop");
    assertThat(done.at("/usage/completion_tokens").intValue()).isEqualTo(3);
    assertThat(done.at("/timings/gateway.accepted").longValue()).isEqualTo(1);
  }

  @Test
  void nativeAskAnswersOneBodyWhenNotStreamedAndMapsErrors() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult ok = ask(nativeBody("q", "", "\"stream\":false"));
    String id = published().getContext().getRequestId();
    pending.dispatch(event(id, 0).setDelta(TextDelta.newBuilder().setText("Red.")).build());
    pending.dispatch(event(id, 1).setDone(Done.newBuilder().setFinishReason("stop")).build());
    MvcResult failed = ask(nativeBody("q", "", "\"stream\":false"));
    String failedId = published().getContext().getRequestId();
    pending.dispatch(AnswerEvents.error(failedId, "tiler-service", "invalid_image", "bad", false));

    assertThat(json.readTree(ok.getResponse().getContentAsString()).get("text").stringValue())
        .isEqualTo("Red.");
    assertThat(failed.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(failed).get("code").stringValue()).isEqualTo("invalid_image");
  }

  @Test
  void nativeAskRefusesBadRegionsAndDeadlinesWithReasons() throws Exception {
    start(TestRequests.properties(), 0);

    MvcResult tooFew = ask(nativeBody("<region_fea> and <region_fea>", "[{\"point\":[1,1]}]", ""));
    MvcResult badBox = ask(nativeBody("q", "[{\"box\":[10,10,5,5]}]", ""));
    MvcResult twoShapes = ask(nativeBody("q", "[{\"box\":[1,1,2,2],\"point\":[1,1]}]", ""));
    MvcResult longDeadline = ask(nativeBody("q", "", "\"timeout_ms\":999999999"));
    MvcResult noImage = ask("{\"question\":\"q\"}");

    assertThat(tooFew.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(tooFew).get("code").stringValue()).isEqualTo("unsupported_region");
    assertThat(badBox.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(badBox).get("message").stringValue()).contains("x1 <= x2");
    assertThat(twoShapes.getResponse().getStatus()).isEqualTo(400);
    assertThat(longDeadline.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(longDeadline).get("message").stringValue()).contains("server's maximum");
    assertThat(noImage.getResponse().getStatus()).isEqualTo(400);
    assertThat(error(noImage).get("param").stringValue()).isEqualTo("image");
    assertThat(sent).noneMatch(r -> r.topic().equals(catalog.requests()));
  }

  @Test
  void nativeAskTakesAMultipartUpload() throws Exception {
    start(TestRequests.properties(), 0);
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    body.writeBytes(
        ("--b0undary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    body.writeBytes(png());
    body.writeBytes(
        ("\r\n--b0undary\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n"
                + "{\"question\":\"What is in <region_fea>?\",\"regions\":[{\"point\":[3,4]}]}"
                + "\r\n--b0undary--\r\n")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));

    MvcResult result =
        mvc.perform(
                post("/v1/ferret/ask")
                    .contentType("multipart/form-data; boundary=b0undary")
                    .content(body.toByteArray()))
            .andReturn();

    assertThat(result.getRequest().isAsyncStarted())
        .as(result.getResponse().getContentAsString())
        .isTrue();
    assertThat(published().getImage().toByteArray()).isEqualTo(png());
    assertThat(published().getContext().getRegions(0).getPoint().getX()).isEqualTo(3);
  }
}

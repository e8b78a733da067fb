package ai.ferretstream.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.ProtobufDeserializer;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TextDelta;
import ai.ferretstream.proto.v1.Usage;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.TestImages;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.awt.Color;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway against a real KRaft broker and a real HTTP server: a client asks, the test plays the
 * pipeline (reads the AskRequest from ferret.requests, answers on the reply partition it names) and
 * checks what the client receives.
 */
@SpringBootTest(
    classes = GatewayApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "spring.config.name=gateway-service",
      "ferret.gateway.instance-id=gateway-it",
      "spring.main.banner-mode=off"
    })
@EmbeddedKafka(
    partitions = 4,
    brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS,
    bootstrapServersProperty = "spring.kafka.bootstrap-servers")
class GatewayIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @LocalServerPort int port;

  @Autowired EmbeddedKafkaBroker broker;

  private final JsonMapper json = JsonMapper.shared();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private KafkaProducer<String, Object> producer;
  private KafkaConsumer<String, AskRequest> requests;
  private KafkaConsumer<String, Cancel> control;
  private final List<AskRequest> seenRequests = new ArrayList<>();
  private final List<Cancel> seenCancels = new ArrayList<>();

  @BeforeEach
  void connect() {
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.getBrokersAsString(),
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                KafkaLimits.MAX_RECORD_BYTES),
            new StringSerializer(),
            new ProtobufSerializer());
    requests = consumer("ferret.requests", AskRequest.parser());
    control = consumer("ferret.control", Cancel.parser());
    await("gateway readiness")
        .atMost(WAIT)
        .until(() -> get("/actuator/health/readiness").statusCode() == 200);
  }

  @AfterEach
  void disconnect() {
    producer.close();
    requests.close();
    control.close();
  }

  private <T extends MessageLite> KafkaConsumer<String, T> consumer(
      String topic, Parser<T> parser) {
    KafkaConsumer<String, T> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.getBrokersAsString(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "it-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                KafkaLimits.MAX_RECORD_BYTES),
            new StringDeserializer(),
            new ProtobufDeserializer<>(parser));
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  /** The AskRequest the gateway published for this question. */
  private AskRequest published(String prompt) {
    return await("the AskRequest")
        .atMost(WAIT)
        .until(
            () -> {
              for (ConsumerRecord<String, AskRequest> r : requests.poll(Duration.ofMillis(200))) {
                seenRequests.add(r.value());
              }
              return seenRequests.stream()
                  .filter(a -> a.getContext().getPrompt().equals(prompt))
                  .findFirst()
                  .orElse(null);
            },
            a -> a != null);
  }

  private boolean cancelled(String id) {
    for (ConsumerRecord<String, Cancel> r : control.poll(Duration.ofMillis(200))) {
      seenCancels.add(r.value());
    }
    return seenCancels.stream().anyMatch(c -> c.getRequestId().equals(id));
  }

  /** Publishes an answer event the way every stage does: to the request's reply partition. */
  private void answer(RequestContext context, AnswerEvent event) throws Exception {
    ProducerRecord<String, AnswerEvent> r =
        AnswerEvents.record(context, TopicCatalog.defaults(), event);
    producer
        .send(new ProducerRecord<>(r.topic(), r.partition(), r.key(), r.value(), r.headers()))
        .get(10, TimeUnit.SECONDS);
  }

  private static AnswerEvent.Builder event(RequestContext context, long seq) {
    return AnswerEvent.newBuilder().setRequestId(context.getRequestId()).setSeq(seq);
  }

  private static String png() {
    byte[] png =
        TestImages.png(
            TestImages.fill(TestImages.plain(320, 200, Color.WHITE), Color.RED, 40, 30, 100, 80));
    return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
  }

  private String body(String question, String extra) throws Exception {
    return "{\"model\":\"ferret-v2-dev\",\"messages\":[{\"role\":\"user\",\"content\":["
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\""
        + png()
        + "\"}},{\"type\":\"text\",\"text\":\""
        + question
        + "\"}]}]"
        + extra
        + "}";
  }

  private HttpRequest.Builder chat(String body) {
    return HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
        .timeout(WAIT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).timeout(WAIT).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> dataLines(HttpResponse<java.util.stream.Stream<String>> response) {
    return response.body().filter(l -> !l.isEmpty()).toList();
  }

  private JsonNode data(String line) {
    assertThat(line).startsWith("data: ");
    return json.readTree(line.substring("data: ".length()));
  }

  @Test
  void streamsTheAnswerEventsOfItsReplyPartitionAsServerSentEvents() throws Exception {
    String question = "Where is the red object in [10, 20, 500, 600] <region_fea>?";
    CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> call =
        http.sendAsync(
            chat(body(
                    question,
                    ",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                        + "\"grounding\":true,\"max_tokens\":64"))
                .build(),
            HttpResponse.BodyHandlers.ofLines());

    AskRequest ask = published(question);
    RequestContext context = ask.getContext();
    assertThat(context.getRequestId()).startsWith("chatcmpl-");
    assertThat(context.getReplyTo().getTopic()).isEqualTo("ferret.answers");
    assertThat(context.getReplyTo().getInstance()).isEqualTo("gateway-it");
    assertThat(context.getReplyTo().getPartition()).isBetween(0, 3);
    assertThat(context.getDeadlineUnixMs() - context.getCreatedUnixMs()).isEqualTo(60_000);
    assertThat(context.getRegionsList())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getBox().getX2()).isEqualTo(500);
              assertThat(r.getNamedInText()).isTrue();
            });
    assertThat(context.getGrounding()).isTrue();
    assertThat(context.getOptions().getMaxTokens()).isEqualTo(64);
    assertThat(ask.getImageMediaType()).isEqualTo("image/png");
    assertThat(ImageIO.read(new java.io.ByteArrayInputStream(ask.getImage().toByteArray())))
        .isNotNull();

    answer(context, event(context, 0).setDelta(TextDelta.newBuilder().setText("The red")).build());
    answer(context, event(context, 1).setDelta(TextDelta.newBuilder().setText(" object")).build());
    answer(context, event(context, 1).setDelta(TextDelta.newBuilder().setText(" object")).build());
    answer(
        context,
        event(context, 2)
            .setBox(
                GroundedBox.newBuilder()
                    .setPhrase("The red object")
                    .setBox999(Box.newBuilder().setX1(125).setY1(150).setX2(434).setY2(549))
                    .setBoxPixels(Box.newBuilder().setX1(40).setY1(30).setX2(138).setY2(109)))
            .build());
    answer(
        context, event(context, 3).setDelta(TextDelta.newBuilder().setText(" is here.")).build());
    answer(
        context,
        event(context, 4)
            .setDone(
                Done.newBuilder()
                    .setFinishReason("stop")
                    .setUsage(Usage.newBuilder().setPromptTokens(620).setCompletionTokens(9)))
            .build());

    HttpResponse<java.util.stream.Stream<String>> response = call.get(30, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream");
    List<String> lines = dataLines(response);
    assertThat(lines).hasSize(8);
    assertThat(lines.get(7)).isEqualTo("data: [DONE]");
    List<JsonNode> chunks = lines.subList(0, 7).stream().map(this::data).toList();
    assertThat(chunks)
        .allSatisfy(
            c -> {
              assertThat(c.get("id").stringValue()).isEqualTo(context.getRequestId());
              assertThat(c.get("object").stringValue()).isEqualTo("chat.completion.chunk");
              assertThat(c.get("model").stringValue()).isEqualTo("ferret-v2-dev");
            });
    assertThat(chunks.get(0).at("/choices/0/delta").toString())
        .isEqualTo("{\"role\":\"assistant\",\"content\":\"\"}");
    assertThat(chunks.get(1).at("/choices/0/delta/content").stringValue()).isEqualTo("The red");
    assertThat(chunks.get(2).at("/choices/0/delta/content").stringValue()).isEqualTo(" object");
    assertThat(chunks.get(3).at("/choices/0/delta").toString())
        .isEqualTo(
            "{\"boxes\":[{\"phrase\":\"The red object\",\"box\":[125,150,434,549],"
                + "\"box_pixels\":[40,30,138,109]}]}");
    assertThat(chunks.get(4).at("/choices/0/delta/content").stringValue()).isEqualTo(" is here.");
    assertThat(chunks.get(5).at("/choices/0/delta").isEmpty()).isTrue();
    assertThat(chunks.get(5).at("/choices/0/finish_reason").stringValue()).isEqualTo("stop");
    assertThat(chunks.get(6).get("choices").isEmpty()).isTrue();
    assertThat(chunks.get(6).get("usage").toString())
        .isEqualTo("{\"prompt_tokens\":620,\"completion_tokens\":9,\"total_tokens\":629}");
  }

  @Test
  void turnsAPipelineErrorIntoAnErrorChunkOrAnHttpStatus() throws Exception {
    String streamed = "streamed error " + UUID.randomUUID();
    CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> stream =
        http.sendAsync(
            chat(body(streamed, ",\"stream\":true")).build(), HttpResponse.BodyHandlers.ofLines());
    RequestContext streamContext = published(streamed).getContext();
    answer(
        streamContext,
        AnswerEvents.error(
            streamContext.getRequestId(),
            "tiler-service",
            "invalid_image",
            "cannot decode",
            false));

    List<String> lines = dataLines(stream.get(30, TimeUnit.SECONDS));
    assertThat(lines).hasSize(3);
    assertThat(data(lines.get(1)).toString())
        .isEqualTo(
            "{\"error\":{\"message\":\"cannot decode\",\"type\":\"invalid_request_error\","
                + "\"param\":null,\"code\":\"invalid_image\"}}");
    assertThat(lines.get(2)).isEqualTo("data: [DONE]");

    String whole = "whole error " + UUID.randomUUID();
    CompletableFuture<HttpResponse<String>> call =
        http.sendAsync(chat(body(whole, "")).build(), HttpResponse.BodyHandlers.ofString());
    RequestContext context = published(whole).getContext();
    answer(
        context,
        AnswerEvents.error(
            context.getRequestId(), "llm-service", "deadline_exceeded", "too slow", true));

    HttpResponse<String> response = call.get(30, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(504);
    JsonNode error = json.readTree(response.body()).get("error");
    assertThat(error.get("code").stringValue()).isEqualTo("deadline_exceeded");
    assertThat(error.get("type").stringValue()).isEqualTo("server_error");
  }

  @Test
  void answersANonStreamedRequestWithOneCompletion() throws Exception {
    String question = "whole answer " + UUID.randomUUID();
    CompletableFuture<HttpResponse<String>> call =
        http.sendAsync(chat(body(question, "")).build(), HttpResponse.BodyHandlers.ofString());
    RequestContext context = published(question).getContext();
    answer(context, event(context, 0).setDelta(TextDelta.newBuilder().setText("Red.")).build());
    answer(context, event(context, 1).setDone(Done.newBuilder().setFinishReason("stop")).build());

    HttpResponse<String> response = call.get(30, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = json.readTree(response.body());
    assertThat(body.get("id").stringValue()).isEqualTo(context.getRequestId());
    assertThat(body.get("object").stringValue()).isEqualTo("chat.completion");
    assertThat(body.at("/choices/0/message/content").stringValue()).isEqualTo("Red.");
  }

  @Test
  void rejectsInvalidInputBeforePublishingAnything() throws Exception {
    HttpResponse<String> response =
        http.send(
            chat(body("What is <region_fea>?", "")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode error = json.readTree(response.body()).get("error");
    assertThat(error.get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(error.get("code").stringValue()).isEqualTo("unsupported_region");
    assertThat(error.get("param").stringValue()).isEqualTo("messages[0].content");
  }

  @Test
  void cancelsTheRequestWhenTheStreamingClientDisconnects() throws Exception {
    String question = "disconnect " + UUID.randomUUID();
    HttpResponse<InputStream> response =
        http.send(
            chat(body(question, ",\"stream\":true")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    RequestContext context = published(question).getContext();
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    assertThat(reader.readLine()).contains("\"role\":\"assistant\"");
    reader.close();

    AtomicLong seq = new AtomicLong();
    await("the Cancel on ferret.control")
        .atMost(WAIT)
        .until(
            () -> {
              // the server notices the closed connection when it next writes
              answer(
                  context,
                  event(context, seq.getAndIncrement())
                      .setDelta(TextDelta.newBuilder().setText("x".repeat(4096)))
                      .build());
              return cancelled(context.getRequestId());
            });
  }

  @Test
  void servesTheModelListAndReadiness() throws Exception {
    JsonNode models = json.readTree(get("/v1/models").body());
    JsonNode readiness = json.readTree(get("/actuator/health/readiness").body());

    assertThat(models.at("/data/0/id").stringValue()).isEqualTo("ferret-v2-dev");
    assertThat(readiness.get("status").stringValue()).isEqualTo("UP");
    assertThat(readiness.at("/components/replyPartitions/details/partitions").size()).isEqualTo(4);
  }
}

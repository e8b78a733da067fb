package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The feature cache (ADR 0018) on the whole local stack (dev models): a follow-up about the same
 * image, through the OpenAI API with the conversation's history or through the native API, makes no
 * new tiler resize and no new encoder call (the services' own metrics), its {@code ferret_timings}
 * say it came from the cache, a region question over Kafka is answered from the cached maps, and
 * its answer is the one the full path gives; another image, and the same image with the cache
 * emptied, take the full path again.
 */
class FeatureCacheIT {

  private static final String MODEL = "ferret-v2-dev";
  private static final EndToEndIT.Shape SHAPE = new EndToEndIT.Shape(960, 640, 3, 2);

  private static LocalStack stack;
  private static final HttpClient http = HttpClient.newHttpClient();
  private static final JsonMapper json = JsonMapper.builder().build();

  @BeforeAll
  static void start() {
    stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start();
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void aFollowUpAboutTheSameImageIsNeitherTiledNorEncodedAgain() throws Exception {
    byte[] png = EndToEndIT.image(SHAPE);
    String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    Work before = work();

    JsonNode first = chat(conversation(dataUrl, "Where is the red object?", null, null));
    String firstAnswer = first.at("/choices/0/message/content").asString();
    assertThat(firstAnswer).startsWith("The red object is at [");
    assertThat(first.at("/ferret_timings").has("tiler.feature_cache_hit")).isFalse();
    assertThat(first.at("/ferret_timings").has("encoder.local.done")).isTrue();
    Work afterFirst = work();
    assertThat(afterFirst.resizes).isEqualTo(before.resizes + 1);
    assertThat(afterFirst.encoderCalls).isGreaterThan(before.encoderCalls);
    assertThat(afterFirst.hits).isEqualTo(before.hits);

    // the follow-up: the whole conversation, the image in its first message
    JsonNode followUp =
        chat(
            conversation(
                dataUrl, "Where is the red object?", firstAnswer, "Where is the blue object?"));
    assertThat(followUp.at("/choices/0/message/content").asString())
        .startsWith("The blue object is at [");
    JsonNode timings = followUp.at("/ferret_timings");
    assertThat(timings.has("tiler.feature_cache_hit")).as(timings.toString()).isTrue();
    assertThat(timings.has("tiler.done")).isFalse();
    assertThat(timings.has("encoder.local.done")).isFalse();
    assertThat(timings.has("encoder.global.done")).isFalse();
    Work afterFollowUp = work();
    assertThat(afterFollowUp.resizes).isEqualTo(afterFirst.resizes);
    assertThat(afterFollowUp.encoderCalls).isEqualTo(afterFirst.encoderCalls);
    assertThat(afterFollowUp.hits).isEqualTo(afterFirst.hits + 1);

    // the same question again, now from the cache: the very answer the full path gave
    JsonNode again = chat(conversation(dataUrl, "Where is the red object?", null, null));
    assertThat(again.at("/choices/0/message/content").asString()).isEqualTo(firstAnswer);
    assertThat(again.at("/ferret_timings").has("tiler.feature_cache_hit")).isTrue();

    // the native API shares the cache: same bytes, same features
    HttpResponse<String> nativeAnswer =
        http.send(
            HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/v1/ferret/ask"))
                .timeout(Duration.ofMinutes(2))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        json.writeValueAsString(
                            json.createObjectNode()
                                .put("model", MODEL)
                                .put("question", "Where is the blue object?")
                                .put("image", Base64.getEncoder().encodeToString(png))
                                .put("stream", false))))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(nativeAnswer.statusCode()).as(nativeAnswer.body()).isEqualTo(200);
    assertThat(work().resizes).isEqualTo(afterFirst.resizes);

    // over Kafka, with a region: fusion samples it from the cached maps
    int x1 = SHAPE.blue().x0() * 1000 / SHAPE.width() + 5;
    int y1 = SHAPE.blue().y0() * 1000 / SHAPE.height() + 5;
    int x2 = (SHAPE.blue().x1() - 1) * 1000 / SHAPE.width() - 5;
    int y2 = (SHAPE.blue().y1() - 1) * 1000 / SHAPE.height() - 5;
    AskRequest ask =
        AskRequest.newBuilder()
            .setContext(
                RequestContext.newBuilder()
                    .setRequestId("kafka-" + UUID.randomUUID())
                    .setCreatedUnixMs(System.currentTimeMillis())
                    .setDeadlineUnixMs(System.currentTimeMillis() + 120_000)
                    .setReplyTo(ReplyTo.newBuilder().setPartition(0))
                    .setPrompt("What is in <region_fea>?")
                    .addRegions(
                        Region.newBuilder()
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                            .setBox(Box.newBuilder().setX1(x1).setY1(y1).setX2(x2).setY2(y2)))
                    .setModel(MODEL))
            .setImage(ByteString.copyFrom(png))
            .build();
    List<AnswerEvent> events = askOverKafka(ask);
    StringBuilder text = new StringBuilder();
    AnswerEvent last = events.get(events.size() - 1);
    events.stream().filter(AnswerEvent::hasDelta).forEach(e -> text.append(e.getDelta().getText()));
    assertThat(last.hasDone()).as(events.toString()).isTrue();
    assertThat(text.toString()).isEqualTo("It is blue.");
    assertThat(last.getDone().getTimingsMap()).containsKey("tiler.feature_cache_hit");
    assertThat(work().resizes).isEqualTo(afterFirst.resizes);

    // another image: a miss, the full path
    byte[] other = EndToEndIT.image(new EndToEndIT.Shape(961, 640, 3, 2));
    JsonNode otherAnswer =
        chat(
            conversation(
                "data:image/png;base64," + Base64.getEncoder().encodeToString(other),
                "Where is the red object?",
                null,
                null));
    assertThat(otherAnswer.at("/ferret_timings").has("tiler.feature_cache_hit")).isFalse();
    assertThat(work().resizes).isEqualTo(afterFirst.resizes + 1);

    // the cache emptied (evicted, another host, a restarted store): the full path, no error
    try (Stream<Path> files = Files.list(stack.sharedFeatureStore())) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith("fc-")).toList()) {
        Files.delete(file);
      }
    }
    JsonNode afterEviction =
        chat(
            conversation(
                dataUrl, "Where is the red object?", firstAnswer, "Where is the blue object?"));
    assertThat(afterEviction.at("/choices/0/message/content").asString())
        .isEqualTo(followUp.at("/choices/0/message/content").asString());
    assertThat(afterEviction.at("/ferret_timings").has("tiler.feature_cache_hit")).isFalse();
    assertThat(work().resizes).isEqualTo(afterFirst.resizes + 2);
  }

  /** Publishes {@code ask} to {@code ferret.requests} and reads its events until the last one. */
  private static List<AnswerEvent> askOverKafka(AskRequest ask) throws Exception {
    String id = ask.getContext().getRequestId();
    try (KafkaProducer<String, Object> producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", stack.bootstrapServers(), "max.request.size", 16 << 20),
            new StringSerializer(),
            new ProtobufSerializer())) {
      producer.send(new ProducerRecord<>("ferret.requests", id, ask)).get();
    }
    List<AnswerEvent> events = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of("bootstrap.servers", stack.bootstrapServers()),
            new StringDeserializer(),
            new ByteArrayDeserializer())) {
      TopicPartition answers = new TopicPartition("ferret.answers", 0);
      consumer.assign(List.of(answers));
      consumer.seekToBeginning(List.of(answers));
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (System.nanoTime() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          if (!id.equals(record.key())) {
            continue;
          }
          AnswerEvent event = AnswerEvent.parseFrom(record.value());
          events.add(event);
          if (event.hasDone() || event.hasError()) {
            return events;
          }
        }
      }
    }
    throw new AssertionError("no answer to " + id + " within 2 minutes: " + events);
  }

  /**
   * A chat request: the first question with the image, and optionally its answer and a follow-up.
   */
  private static ObjectNode conversation(
      String dataUrl, String question, String answer, String followUp) {
    ObjectNode root = json.createObjectNode();
    root.put("model", MODEL);
    root.put("grounding", false);
    root.put("max_tokens", 128);
    ArrayNode messages = root.putArray("messages");
    ObjectNode user = messages.addObject().put("role", "user");
    ArrayNode content = user.putArray("content");
    content.addObject().put("type", "text").put("text", question);
    content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl);
    if (followUp != null) {
      messages.addObject().put("role", "assistant").put("content", answer);
      messages.addObject().put("role", "user").put("content", followUp);
    }
    return root;
  }

  private static JsonNode chat(ObjectNode body) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/v1/chat/completions"))
                .timeout(Duration.ofMinutes(2))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json.readTree(response.body());
  }

  /** What the vision path has done so far, by the services' own metrics. */
  private record Work(long resizes, long encoderCalls, double hits) {}

  private static Work work() {
    MeterRegistry tiler = stack.meters("tiler-service");
    long resizes =
        tiler.find("ferret.tiler.resize").timers().stream().mapToLong(Timer::count).sum();
    long calls = 0;
    for (String encoder : new String[] {"encoder-service (global)", "encoder-service (local)"}) {
      calls +=
          stack.meters(encoder).find("ferret.encoder.inference").timers().stream()
              .mapToLong(Timer::count)
              .sum();
    }
    var hit = tiler.find("ferret.feature.cache.lookups").tag("outcome", "hit").counter();
    return new Work(resizes, calls, hit == null ? 0 : hit.count());
  }
}

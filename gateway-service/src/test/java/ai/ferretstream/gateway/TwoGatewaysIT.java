package ai.ferretstream.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.ProtobufDeserializer;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TextDelta;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two gateway instances share the topics (and the answers consumer group): each must get exactly
 * the answer events of its own requests. A fake pipeline answers every request on the reply
 * partition it names with the request's own question; requests sent to both instances at once must
 * each come back with their own text, and the instances must have named disjoint reply partitions.
 */
@EmbeddedKafka(brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS)
class TwoGatewaysIT {

  private static final String PREFIX = "two.";
  private final JsonMapper json = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newHttpClient();

  private ConfigurableApplicationContext gateway(EmbeddedKafkaBroker broker) {
    return GatewayApplication.builder()
        .run(
            "--spring.kafka.bootstrap-servers=" + broker.getBrokersAsString(),
            "--server.port=0",
            "--ferret.topics.prefix=" + PREFIX,
            "--ferret.topics.partitions=4");
  }

  @Test
  void eachInstanceGetsExactlyTheAnswersOfItsOwnRequests(EmbeddedKafkaBroker broker)
      throws Exception {
    TopicCatalog catalog = new TopicCatalog(PREFIX);
    Map<String, Set<Integer>> partitionsByInstance = new ConcurrentHashMap<>();
    AtomicBoolean running = new AtomicBoolean(true);
    try (ConfigurableApplicationContext first = gateway(broker);
        ConfigurableApplicationContext second = gateway(broker)) {
      Thread pipeline =
          new Thread(() -> fakePipeline(broker, catalog, partitionsByInstance, running));
      pipeline.start();
      try {
        List<Integer> ports = List.of(port(first), port(second));
        awaitReady(ports);
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        List<String> questions = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
          String question = "question number " + i;
          questions.add(question);
          calls.add(
              http.sendAsync(
                  ask(ports.get(i % 2), question), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < calls.size(); i++) {
          HttpResponse<String> response = calls.get(i).get();
          assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
          JsonNode body = json.readTree(response.body());
          assertThat(body.at("/choices/0/message/content").stringValue())
              .isEqualTo("echo: " + questions.get(i));
        }
      } finally {
        running.set(false);
        pipeline.join(10_000);
      }
      assertThat(partitionsByInstance).hasSize(2);
      List<Set<Integer>> sets = new ArrayList<>(partitionsByInstance.values());
      Set<Integer> overlap = new HashSet<>(sets.get(0));
      overlap.retainAll(sets.get(1));
      assertThat(overlap).as("reply partitions named by both instances").isEmpty();
    }
  }

  /** Answers each request on its reply partition with its own question. */
  private static void fakePipeline(
      EmbeddedKafkaBroker broker,
      TopicCatalog catalog,
      Map<String, Set<Integer>> partitionsByInstance,
      AtomicBoolean running) {
    try (KafkaConsumer<String, AskRequest> requests =
            new KafkaConsumer<>(
                Map.of(
                    "bootstrap.servers",
                    broker.getBrokersAsString(),
                    "group.id",
                    "fake-pipeline",
                    "auto.offset.reset",
                    "earliest",
                    "max.partition.fetch.bytes",
                    16 << 20),
                new StringDeserializer(),
                new ProtobufDeserializer<>(AskRequest.parser()));
        KafkaProducer<String, Object> answers =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", broker.getBrokersAsString()),
                new StringSerializer(),
                new ProtobufSerializer())) {
      requests.subscribe(List.of(catalog.requests()));
      while (running.get()) {
        for (ConsumerRecord<String, AskRequest> r : requests.poll(Duration.ofMillis(100))) {
          RequestContext context = r.value().getContext();
          partitionsByInstance
              .computeIfAbsent(
                  context.getReplyTo().getInstance(), k -> ConcurrentHashMap.newKeySet())
              .add(context.getReplyTo().getPartition());
          String id = context.getRequestId();
          send(
              answers,
              context,
              catalog,
              AnswerEvent.newBuilder()
                  .setRequestId(id)
                  .setSeq(0)
                  .setDelta(TextDelta.newBuilder().setText("echo: " + context.getPrompt()))
                  .build());
          send(
              answers,
              context,
              catalog,
              AnswerEvent.newBuilder()
                  .setRequestId(id)
                  .setSeq(1)
                  .setDone(Done.newBuilder().setFinishReason("stop"))
                  .build());
        }
      }
    }
  }

  private static void send(
      KafkaProducer<String, Object> producer,
      RequestContext context,
      TopicCatalog catalog,
      AnswerEvent event) {
    ProducerRecord<String, AnswerEvent> r = AnswerEvents.record(context, catalog, event);
    producer.send(new ProducerRecord<>(r.topic(), r.partition(), r.key(), r.value(), r.headers()));
  }

  private void awaitReady(List<Integer> ports) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (int port : ports) {
      while (true) {
        HttpResponse<String> health =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (health.statusCode() == 200) {
          break;
        }
        assertThat(System.nanoTime()).as("gateway %d ready in time", port).isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  private static int port(ConfigurableApplicationContext context) {
    return Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
  }

  private static HttpRequest ask(int port, String question) {
    String png =
        Base64.getEncoder()
            .encodeToString(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    String body =
        "{\"model\":\"ferret-v2-dev\",\"messages\":[{\"role\":\"user\",\"content\":["
            + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
            + png
            + "\"}},{\"type\":\"text\",\"text\":\""
            + question
            + "\"}]}]}";
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(60))
        .build();
  }
}

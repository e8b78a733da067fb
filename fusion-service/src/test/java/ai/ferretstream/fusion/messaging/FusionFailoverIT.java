package ai.ferretstream.fusion.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.fusion.FusionApplication;
import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.fusion.TopicReader;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;

/**
 * Many concurrent requests through two fusion instances: the first takes every partition, a second
 * joins in the middle (a rebalance moves half the partitions and their half-built joins), then the
 * first stops (the second takes everything). Every request must still be fused exactly once, and
 * none may fail: joins moved away are rebuilt from the committed offsets, and requests finished
 * before a move are not fused again although some of their records are replayed (the commit's
 * metadata names them).
 */
@EmbeddedKafka(
    brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS,
    brokerProperties = "auto.create.topics.enable=false")
class FusionFailoverIT {

  private static final int PATCHES = 24;
  private static final int CHANNELS = 4;
  private static final String PREFIX = "failover.";

  private static EmbeddedKafkaBroker broker;

  private final List<ConfigurableApplicationContext> instances = new ArrayList<>();

  @BeforeAll
  static void broker(EmbeddedKafkaBroker embedded) {
    broker = embedded;
  }

  @AfterEach
  void stopAll() {
    instances.forEach(ConfigurableApplicationContext::close);
  }

  private ConfigurableApplicationContext startFusion() {
    ConfigurableApplicationContext context =
        FusionApplication.builder()
            .run(
                "--spring.kafka.bootstrap-servers=" + broker.getBrokersAsString(),
                "--server.port=0",
                "--ferret.topics.prefix=" + PREFIX,
                "--ferret.topics.partitions=4",
                // no regions in these requests: the region sampler is never called
                "--ferret.inference.verify-on-startup=false",
                "--ferret.inference.target=localhost:1",
                "--ferret.fusion.max-open-joins=1000",
                "--ferret.fusion.join-timeout=300s",
                "--ferret.fusion.idle-commit-interval=200ms");
    instances.add(context);
    return context;
  }

  @Test
  void everyRequestIsFusedExactlyOnceAcrossARebalanceAndAStop() throws Exception {
    TopicCatalog catalog = new TopicCatalog(PREFIX);
    ConfigurableApplicationContext first = startFusion();

    int requests = 60;
    List<TileFeatures> records = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      String id = "failover-" + i;
      ids.add(id);
      GridLayout grid =
          switch (i % 3) {
            case 0 -> TestFeatures.layout(1, 1, 336, 336);
            case 1 -> TestFeatures.layout(2, 1, 672, 336);
            default -> TestFeatures.layout(3, 2, 1008, 672);
          };
      RequestContext context = TestFeatures.context(id, 0);
      records.add(TestFeatures.global(context, grid, PATCHES, CHANNELS));
      for (int k = 0; k < grid.getCols() * grid.getRows(); k++) {
        records.add(TestFeatures.local(context, grid, k, PATCHES, CHANNELS));
      }
    }
    // interleave the requests' records, as concurrent requests arrive
    Collections.shuffle(records, new Random(42));

    awaitLeaders(catalog.features());
    awaitLeaders(catalog.featureNotices());
    try (KafkaProducer<String, Object> producer = producer();
        TopicReader reader =
            new TopicReader(broker.getBrokersAsString(), catalog.fused(), catalog.answers())) {
      int third = records.size() / 3;
      send(producer, catalog, records.subList(0, third));
      // the first instance holds many half-built joins
      JoinBook firstBook = first.getBean(JoinBook.class);
      await().atMost(Duration.ofSeconds(60)).until(() -> firstBook.openJoins() >= 20);

      ConfigurableApplicationContext second = startFusion(); // rebalance: partitions move
      JoinBook secondBook = second.getBean(JoinBook.class);
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> secondBook.openJoins() > 0); // it rebuilt joins it was handed
      // counted before the send: requests the send completes may be fused before a later count
      int fusedBeforeSecondThird = fusedCounts(reader).size();
      send(producer, catalog, records.subList(third, 2 * third));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> fusedCounts(reader).size() > fusedBeforeSecondThird);

      first.close(); // the second instance takes every partition
      instances.remove(first);
      send(producer, catalog, records.subList(2 * third, records.size()));

      await().atMost(Duration.ofSeconds(90)).until(() -> fusedCounts(reader).size() == requests);
      Thread.sleep(2000); // room for a duplicate to show up
      Map<String, Integer> counts = fusedCounts(reader);
      assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(ids);
      assertThat(counts).allSatisfy((id, n) -> assertThat(n).as("FusedContexts of %s", id).isOne());
      assertThat(reader.poll().stream().filter(r -> r.topic().equals(catalog.answers())))
          .as("error events")
          .isEmpty();
      assertThat(second.isActive()).isTrue();
    }
  }

  /** Waits until every partition of {@code topic} has a leader. */
  private static void awaitLeaders(String topic) {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", broker.getBrokersAsString()))) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  admin
                      .describeTopics(List.of(topic))
                      .allTopicNames()
                      .get()
                      .get(topic)
                      .partitions()
                      .stream()
                      .allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
    }
  }

  private static Map<String, Integer> fusedCounts(TopicReader reader) {
    Map<String, Integer> counts = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : reader.poll()) {
      if (r.topic().endsWith("ferret.fused")) {
        counts.merge(r.key(), 1, Integer::sum);
      }
    }
    return counts;
  }

  private static void send(
      KafkaProducer<String, Object> producer, TopicCatalog catalog, List<TileFeatures> batch)
      throws Exception {
    // as the encoders do: the feature records, then once the broker has them their notices
    List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> stored =
        new ArrayList<>();
    for (TileFeatures f : batch) {
      stored.add(
          producer.send(
              new ProducerRecord<>(catalog.features(), f.getContext().getRequestId(), f)));
    }
    for (int i = 0; i < batch.size(); i++) {
      TileFeatures f = batch.get(i);
      org.apache.kafka.clients.producer.RecordMetadata at = stored.get(i).get();
      producer.send(
          new ProducerRecord<>(
              catalog.featureNotices(),
              f.getContext().getRequestId(),
              FeatureRecords.notice(
                  f, FeatureRecords.ref(f, at.topic(), at.partition(), at.offset()))));
    }
    producer.flush();
  }

  private static KafkaProducer<String, Object> producer() {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            broker.getBrokersAsString(),
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            16 * 1024 * 1024,
            // the topics were created a moment ago: a leader change right after creation must not
            // wedge an idempotent producer's sequence numbers (OUT_OF_ORDER_SEQUENCE_NUMBER)
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            false,
            ProducerConfig.ACKS_CONFIG,
            "all"),
        new StringSerializer(),
        new ProtobufSerializer());
  }
}

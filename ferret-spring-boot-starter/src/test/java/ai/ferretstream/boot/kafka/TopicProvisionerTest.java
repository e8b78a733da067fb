package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

class TopicProvisionerTest {

  static EmbeddedKafkaBroker broker;
  static Admin admin;

  @BeforeAll
  static void startBroker() {
    broker = new EmbeddedKafkaKraftBroker(1, 1);
    // the broker keeps Kafka's default record limit (1 MB): topics must get theirs explicitly
    broker.afterPropertiesSet();
    admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()));
  }

  @AfterAll
  static void stopBroker() {
    if (admin != null) {
      admin.close();
    }
    if (broker != null) {
      broker.destroy();
    }
  }

  @Test
  void createsEveryTopicThenGrowsPartitionsAndReportsUpToDate() throws Exception {
    TopicCatalog catalog = new TopicCatalog("fresh.");

    List<TopicProvisioner.Outcome> first = TopicProvisioner.provision(admin, catalog, 3, (short) 1);

    assertThat(first).hasSize(catalog.allTopicNames().size()).hasSize(16);
    assertThat(first)
        .allSatisfy(o -> assertThat(o.action()).isEqualTo("created (3 partitions, replication 1)"));
    assertThat(partitions(catalog.requests(), 3)).isEqualTo(3);
    assertThat(partitions(catalog.deadLetter(Topic.FUSED), 3)).isEqualTo(3);
    assertThat(maxMessageBytes(catalog.features())).isEqualTo("16777216");

    List<TopicProvisioner.Outcome> again = TopicProvisioner.provision(admin, catalog, 3, (short) 1);
    assertThat(again).allSatisfy(o -> assertThat(o.action()).isEqualTo("up to date"));

    List<TopicProvisioner.Outcome> grown = TopicProvisioner.provision(admin, catalog, 5, (short) 1);
    assertThat(grown).allSatisfy(o -> assertThat(o.action()).isEqualTo("partitions 3 -> 5"));
    assertThat(partitions(catalog.answers(), 5)).isEqualTo(5);

    List<TopicProvisioner.Outcome> fewer = TopicProvisioner.provision(admin, catalog, 2, (short) 1);
    assertThat(fewer)
        .allSatisfy(
            o -> assertThat(o.action()).isEqualTo("has 5 partitions, more than the 2 declared"));
    assertThat(partitions(catalog.answers(), 5)).isEqualTo(5);
  }

  @Test
  void raisesTheRecordLimitOfATopicCreatedElsewhere() throws Exception {
    TopicCatalog catalog = new TopicCatalog("preexisting.");
    admin
        .createTopics(List.of(new NewTopic(catalog.tilesLocal(), 1, (short) 1)))
        .all()
        .get(30, TimeUnit.SECONDS);

    List<TopicProvisioner.Outcome> outcomes =
        TopicProvisioner.provision(admin, catalog, 2, (short) 1);

    assertThat(outcomes)
        .filteredOn(o -> o.topic().equals(catalog.tilesLocal()))
        .singleElement()
        .extracting(TopicProvisioner.Outcome::action)
        .asString()
        .startsWith("partitions 1 -> 2, max.message.bytes raised to 16777216, ");
    assertThat(outcomes)
        .filteredOn(o -> !o.topic().equals(catalog.tilesLocal()))
        .allSatisfy(o -> assertThat(o.action()).startsWith("created"));
    assertThat(maxMessageBytes(catalog.tilesLocal())).isEqualTo("16777216");
    assertThat(partitions(catalog.tilesLocal(), 2)).isEqualTo(2);
  }

  @Test
  void newTopicsKeepTheirRecordsOnlyAsLongAsTheyAreUseful() throws Exception {
    TopicCatalog catalog = new TopicCatalog("retained.");
    TopicProvisioner.Retention retention =
        new TopicProvisioner.Retention(
            Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofHours(24), 64L << 20);

    TopicProvisioner.provision(admin, catalog, 1, (short) 1, retention);

    // the topics between the stages: minutes, in segments small enough to be deleted
    for (String bulk :
        List.of(
            catalog.tilesGlobal(),
            catalog.tilesLocal(),
            catalog.features(),
            catalog.featureNotices(),
            catalog.fused())) {
      assertThat(configs(bulk))
          .as(bulk)
          .containsEntry("retention.ms", "300000")
          .containsEntry("segment.ms", "60000")
          .containsEntry("segment.bytes", "33554432")
          .containsEntry("cleanup.policy", "delete")
          .containsEntry("max.message.bytes", "16777216");
    }
    for (String message : List.of(catalog.requests(), catalog.answers(), catalog.control())) {
      assertThat(configs(message))
          .as(message)
          .containsEntry("retention.ms", "3600000")
          .containsEntry("segment.ms", "720000")
          .containsEntry("segment.bytes", "33554432");
    }
    // dead letters: bounded by time and by size
    for (Topic topic : Topic.values()) {
      assertThat(configs(catalog.deadLetter(topic)))
          .as(catalog.deadLetter(topic))
          .containsEntry("retention.ms", "86400000")
          .containsEntry("retention.bytes", "67108864")
          .containsEntry("segment.bytes", "33554432");
    }
  }

  @Test
  void bringsTheWeekLongDefaultRetentionOfAnExistingTopicDown() throws Exception {
    TopicCatalog catalog = new TopicCatalog("weekly.");
    admin
        .createTopics(
            List.of(
                new NewTopic(catalog.features(), 1, (short) 1)
                    .configs(Map.of("max.message.bytes", "16777216"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    assertThat(configs(catalog.features())).containsEntry("retention.ms", "604800000");

    List<TopicProvisioner.Outcome> outcomes =
        TopicProvisioner.provision(
            admin, catalog, 1, (short) 1, TopicProvisioner.Retention.DEFAULT);

    assertThat(outcomes)
        .filteredOn(o -> o.topic().equals(catalog.features()))
        .singleElement()
        .extracting(TopicProvisioner.Outcome::action)
        .asString()
        .contains(
            "retention.ms 604800000 -> 300000",
            "segment.ms 604800000 -> 60000",
            "segment.bytes 1073741824 -> 33554432");
    awaitConfig(catalog.features(), "retention.ms", "300000");
    assertThat(configs(catalog.features()))
        .containsEntry("retention.ms", "300000")
        .containsEntry("segment.ms", "60000")
        .containsEntry("segment.bytes", "33554432");
    assertThat(
            TopicProvisioner.provision(
                admin, catalog, 1, (short) 1, TopicProvisioner.Retention.DEFAULT))
        .allSatisfy(o -> assertThat(o.action()).isEqualTo("up to date"));
  }

  @Test
  void retentionIsReadFromTheEnvironmentAndFlags() {
    TopicProvisioner.Plan defaults =
        TopicProvisioner.plan(Map.of("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1"), new String[0]);
    assertThat(defaults.retention()).isEqualTo(TopicProvisioner.Retention.DEFAULT);
    assertThat(TopicProvisioner.Retention.DEFAULT)
        .isEqualTo(
            new TopicProvisioner.Retention(
                Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofHours(24), 64L << 20));

    TopicProvisioner.Plan plan =
        TopicProvisioner.plan(
            Map.of(
                "SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1",
                "FERRET_TOPICS_BULK_RETENTION", "10m",
                "FERRET_TOPICS_RETENTION", "2h",
                "FERRET_TOPICS_DEAD_LETTER_RETENTION", "3d",
                "FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE", "128MB"),
            new String[] {"--bulk-retention", "15m"});
    assertThat(plan.retention())
        .isEqualTo(
            new TopicProvisioner.Retention(
                Duration.ofMinutes(15), Duration.ofHours(2), Duration.ofDays(3), 128L << 20));

    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of(
                        "SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1",
                        "FERRET_TOPICS_BULK_RETENTION", "0s"),
                    new String[0]))
        .hasMessageContaining("bulk retention must be positive");
    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of(
                        "SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1",
                        "FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE", "lots"),
                    new String[0]))
        .hasMessageContaining("not a size: 'lots'");
  }

  @Test
  void theServicesDeclareTheSameRetentionFromTheirProperties() {
    TopicsProperties topics =
        new org.springframework.boot.context.properties.bind.Binder(
                new org.springframework.boot.context.properties.source
                    .MapConfigurationPropertySource(
                    Map.of(
                        "ferret.topics.bulk-retention", "3m",
                        "ferret.topics.dead-letter-retention-size", "32MB")))
            .bindOrCreate("ferret.topics", TopicsProperties.class);

    assertThat(topics.topicRetention())
        .isEqualTo(
            new TopicProvisioner.Retention(
                Duration.ofMinutes(3), Duration.ofHours(1), Duration.ofHours(24), 32L << 20));
    NewTopic tiles =
        TopicProvisioner.declarations(
                TopicCatalog.defaults(), 4, (short) 1, topics.topicRetention())
            .stream()
            .filter(t -> t.name().equals("ferret.tiles.local"))
            .findFirst()
            .orElseThrow();
    assertThat(tiles.configs())
        .containsEntry("retention.ms", "180000")
        .containsEntry("segment.ms", "36000");
    assertThatThrownBy(
            () ->
                new TopicsProperties(
                    "",
                    4,
                    (short) 1,
                    Duration.ZERO,
                    Duration.ofHours(1),
                    Duration.ofHours(1),
                    org.springframework.util.unit.DataSize.ofMegabytes(1)))
        .hasMessageContaining("ferret.topics.bulk-retention must be positive");
  }

  @Test
  void readsTheServicesSpringKafkaEnvironment() {
    TopicProvisioner.Plan plan =
        TopicProvisioner.plan(
            Map.of(
                "SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9093,kafka-1:9093",
                "SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "SPRING_KAFKA_PROPERTIES_SASL_MECHANISM", "SCRAM-SHA-512",
                "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "jaas line",
                "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION", "file:/etc/ferret/kafka-ca/ca.crt",
                "SPRING_KAFKA_SSL_TRUST_STORE_TYPE", "PEM",
                "FERRET_TOPICS_PREFIX", "prod.",
                "FERRET_TOPICS_PARTITIONS", "12",
                "FERRET_TOPICS_REPLICATION", "3",
                "FERRET_TOPICS_WAIT", "5m"),
            new String[0]);

    assertThat(plan.client())
        .containsEntry("bootstrap.servers", "kafka-0:9093,kafka-1:9093")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry("sasl.jaas.config", "jaas line")
        .containsEntry("ssl.truststore.location", "/etc/ferret/kafka-ca/ca.crt")
        .containsEntry("ssl.truststore.type", "PEM");
    assertThat(plan.catalog().requests()).isEqualTo("prod.ferret.requests");
    assertThat(plan.partitions()).isEqualTo(12);
    assertThat(plan.replication()).isEqualTo((short) 3);
    assertThat(plan.waitFor()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void flagsOverrideTheEnvironmentAndBadValuesAreRefused() {
    TopicProvisioner.Plan plan =
        TopicProvisioner.plan(
            Map.of("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1", "FERRET_TOPICS_PARTITIONS", "4"),
            new String[] {"--bootstrap-servers", "b:2", "--partitions", "8", "--wait", "30s"});
    assertThat(plan.client()).containsEntry("bootstrap.servers", "b:2");
    assertThat(plan.partitions()).isEqualTo(8);
    assertThat(plan.waitFor()).isEqualTo(Duration.ofSeconds(30));
    assertThat(TopicProvisioner.plan(Map.of(), new String[] {"--help"})).isNull();

    assertThatThrownBy(() -> TopicProvisioner.plan(Map.of(), new String[0]))
        .hasMessageContaining("no bootstrap servers");
    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of(
                        "SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1", "FERRET_TOPICS_PARTITIONS", "0"),
                    new String[0]))
        .hasMessageContaining("partitions must be 1..");
    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1"), new String[] {"--colour"}))
        .hasMessageContaining("needs a value");
    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1"), new String[] {"--x", "y"}))
        .hasMessageContaining("unknown argument '--x'");
    assertThatThrownBy(
            () ->
                TopicProvisioner.plan(
                    Map.of("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:1", "FERRET_TOPICS_WAIT", "soon"),
                    new String[0]))
        .hasMessageContaining("not a duration: 'soon'");
  }

  /** The partition count once metadata has caught up with a change (waits up to 10 s). */
  private static int partitions(String topic, int expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      TopicDescription d;
      try {
        d =
            admin
                .describeTopics(List.of(topic))
                .allTopicNames()
                .get(30, TimeUnit.SECONDS)
                .get(topic);
      } catch (ExecutionException e) {
        // a topic just created may not be known to the broker's metadata yet
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
        continue;
      }
      int n = d.partitions().size();
      if (n == expected || System.nanoTime() > deadline) {
        return n;
      }
      Thread.sleep(100);
    }
  }

  /** Every config of a topic, by name (waits up to 10 s for a new topic to be known). */
  private static Map<String, String> configs(String topic) throws Exception {
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        Map<String, String> values = new java.util.HashMap<>();
        for (ConfigEntry e :
            admin.describeConfigs(List.of(r)).all().get(30, TimeUnit.SECONDS).get(r).entries()) {
          values.put(e.name(), e.value());
        }
        return values;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  /** Waits (up to 10 s) until the broker reports a changed config. */
  private static void awaitConfig(String topic, String name, String value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!value.equals(configs(topic).get(name)) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
  }

  /** The topic's record limit once metadata has caught up with a change (waits up to 10 s). */
  private static String maxMessageBytes(String topic) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      String value = configs(topic).get("max.message.bytes");
      if (value.equals("16777216") || System.nanoTime() > deadline) {
        return value;
      }
      Thread.sleep(100);
    }
  }
}

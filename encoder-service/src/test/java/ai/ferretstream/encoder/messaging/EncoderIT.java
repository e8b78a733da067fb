package ai.ferretstream.encoder.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.encoder.EncoderApplication;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.ProtobufDeserializer;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.FakeEncoderModel;
import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;

/**
 * The local-role encoder against a real KRaft broker and a fake model server on a loopback port,
 * started the way the launcher starts it. Tiles are published before the service starts, so that
 * its first poll sees tiles of several requests at once.
 */
@EmbeddedKafka(
    count = 1,
    partitions = 1,
    brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS,
    brokerProperties = "auto.create.topics.enable=false")
class EncoderIT {

  private static final int CHANNELS = 8;

  private static EmbeddedKafkaBroker broker;

  private final FakeEncoderModel fake = new FakeEncoderModel(CHANNELS);
  private Server server;
  private KafkaProducer<String, Object> producer;

  @BeforeAll
  static void broker(EmbeddedKafkaBroker embedded) {
    broker = embedded;
  }

  @BeforeEach
  void startFakeModelServer() throws IOException {
    server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(fake.definition())
            .build()
            .start();
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.getBrokersAsString(),
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                16 * 1024 * 1024),
            new StringSerializer(),
            new ProtobufSerializer());
  }

  @AfterEach
  void stopFakeModelServer() {
    producer.close();
    server.shutdownNow();
  }

  private ConfigurableApplicationContext startEncoder(String prefix, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--spring.kafka.bootstrap-servers=" + broker.getBrokersAsString(),
                "--server.port=0",
                "--ferret.topics.prefix=" + prefix,
                "--ferret.topics.partitions=1",
                "--ferret.encoder.role=local",
                "--ferret.kafka.retries=0",
                "--ferret.inference.target=localhost:" + server.getPort()));
    args.addAll(List.of(more));
    return EncoderApplication.builder().run(args.toArray(String[]::new));
  }

  @Test
  void pausesTheConsumerWhileTheServerIsSlowAndCommitsOnlyPublishedTiles() throws Exception {
    TopicCatalog catalog = new TopicCatalog("backpressure.");
    createTopic(catalog.tilesLocal());
    int tiles = 24;
    String id = "slow-" + UUID.randomUUID();
    for (int k = 0; k < tiles; k++) {
      publish(catalog, tile(id, k, k, 0));
    }
    fake.delayEveryCall(Duration.ofMillis(150));

    ConfigurableApplicationContext encoder =
        startEncoder(
            catalog.prefix(),
            "--ferret.encoder.max-batch-size=2",
            "--ferret.encoder.max-inflight-batches=1",
            "--ferret.encoder.queue-capacity=4",
            "--ferret.encoder.max-queue-delay=1ms");
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", broker.getBrokersAsString()))) {
      EncodingPipeline pipeline = encoder.getBean(EncodingPipeline.class);
      int maxQueued = 0;
      boolean sawPause = false;
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (fake.calls().stream().mapToLong(c -> c.getInputs(0).getShape(0)).sum() < tiles
          && System.nanoTime() < deadline) {
        long committed = committed(admin, "encoder-local", catalog.tilesLocal());
        long encoded = fake.calls().size() * 2L; // tiles sent to the server so far (an upper bound)
        // a commit never runs ahead of the tiles that reached the server
        assertThat(committed).isLessThanOrEqualTo(encoded);
        maxQueued = Math.max(maxQueued, pipeline.queued());
        sawPause |= pipeline.paused();
        Thread.sleep(20);
      }

      List<ConsumerRecord<String, TileFeatures>> features =
          consume(catalog.features(), TileFeatures.parser(), r -> r.key().equals(id), tiles);
      assertThat(features).extracting(r -> r.value().getIndex()).doesNotHaveDuplicates();
      assertThat(sawPause).as("the consumer was paused by back-pressure").isTrue();
      // capacity 4 plus at most one poll of max.poll.records = 2
      assertThat(maxQueued).isLessThanOrEqualTo(4 + 2);
      assertThat(fake.calls())
          .allSatisfy(c -> assertThat(c.getInputs(0).getShape(0)).isLessThanOrEqualTo(2));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed(admin, "encoder-local", catalog.tilesLocal()) == tiles);
      assertThat(
              encoder
                  .getBean(io.micrometer.core.instrument.MeterRegistry.class)
                  .get("ferret.encoder.pauses")
                  .counter()
                  .count())
          .isPositive();
    } finally {
      encoder.close();
    }
  }

  @Test
  void dropsTheTilesOfARequestCancelledOnTheControlTopic() throws Exception {
    TopicCatalog catalog = new TopicCatalog("cancel.");
    createTopic(catalog.tilesLocal());
    ConfigurableApplicationContext encoder = startEncoder(catalog.prefix());
    try {
      org.springframework.kafka.test.utils.ContainerTestUtils.waitForAssignment(
          encoder
              .getBean(org.springframework.kafka.config.KafkaListenerEndpointRegistry.class)
              .getListenerContainer("encoder-service-control"),
          1);
      String gone = "gone-" + UUID.randomUUID();
      String kept = "kept-" + UUID.randomUUID();
      producer
          .send(
              new ProducerRecord<>(
                  catalog.control(),
                  gone,
                  (Object) ai.ferretstream.proto.v1.Cancel.newBuilder().setRequestId(gone).build()))
          .get();
      ai.ferretstream.boot.kafka.CancelledRequests cancelled =
          encoder.getBean(ai.ferretstream.boot.kafka.CancelledRequests.class);
      await().atMost(Duration.ofSeconds(30)).until(() -> cancelled.contains(gone));

      publish(catalog, tile(gone, 0, 1, 0));
      publish(catalog, tile(kept, 0, 2, 0));

      // the kept tile came after the cancelled one in the same partition: once its features are
      // out, the cancelled tile has been settled too
      consume(catalog.features(), TileFeatures.parser(), r -> r.key().equals(kept), 1);
      assertThat(fake.calls()).noneSatisfy(c -> assertThat(c.getId()).contains(gone));
      assertThat(
              encoder
                  .getBean(io.micrometer.core.instrument.MeterRegistry.class)
                  .get("ferret.encoder.cancelled")
                  .counter()
                  .count())
          .isEqualTo(1.0);
    } finally {
      encoder.close();
    }
  }

  private static long committed(
      org.apache.kafka.clients.admin.Admin admin, String group, String topic) throws Exception {
    var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    var offset = offsets.get(new org.apache.kafka.common.TopicPartition(topic, 0));
    return offset == null ? 0 : offset.offset();
  }

  @Test
  void batchesTilesOfInterleavedRequestsAndRoutesTheirFeatures() {
    TopicCatalog catalog = new TopicCatalog("interleaved.");
    createTopic(catalog.tilesLocal());
    String a = "a-" + UUID.randomUUID();
    String b = "b-" + UUID.randomUUID();
    for (int k = 0; k < 3; k++) {
      publish(catalog, tile(a, k, 10 + k, 0));
      publish(catalog, tile(b, k, 100 + k, 0));
    }

    ConfigurableApplicationContext encoder = startEncoder(catalog.prefix());
    try {
      List<ConsumerRecord<String, TileFeatures>> features =
          consume(catalog.features(), TileFeatures.parser(), r -> true, 6);

      for (ConsumerRecord<String, TileFeatures> record : features) {
        TileFeatures f = record.value();
        String id = f.getContext().getRequestId();
        assertThat(record.key()).isEqualTo(id);
        int expectedRed = (id.equals(a) ? 10 : 100) + f.getIndex();
        float[] values = TensorCodec.fp16ToFloats(f.getFeaturesFp16().toByteArray());
        assertThat(values).hasSize(576 * CHANNELS);
        assertThat(values[0]).as("%s tile %d", id, f.getIndex()).isEqualTo(expectedRed);
        assertThat(values[575 * CHANNELS + 7]).isEqualTo(expectedRed + 7f);
        assertThat(f.getChannels()).isEqualTo(CHANNELS);
        assertThat(f.getModel()).isEqualTo(FakeEncoderModel.MODEL);
        assertThat(f.getContext().getTimingsMap()).containsKey("encoder.local.done");
      }
      assertThat(features)
          .filteredOn(r -> r.key().equals(a))
          .extracting(r -> r.value().getIndex())
          .containsExactly(0, 1, 2);
      assertThat(features)
          .filteredOn(r -> r.key().equals(b))
          .extracting(r -> r.value().getIndex())
          .containsExactly(0, 1, 2);
      // one notice per feature record, naming exactly where it lies, without the maps
      List<ConsumerRecord<String, TileFeatures>> notices =
          consume(catalog.featureNotices(), TileFeatures.parser(), r -> true, 6);
      for (ConsumerRecord<String, TileFeatures> n : notices) {
        TileFeatures notice = n.value();
        assertThat(n.key()).isEqualTo(notice.getContext().getRequestId());
        assertThat(notice.getFeaturesFp16().isEmpty()).isTrue();
        assertThat(notice.getStoredAt().getTopic()).isEqualTo(catalog.features());
        ConsumerRecord<String, TileFeatures> named =
            features.stream()
                .filter(
                    r ->
                        r.partition() == notice.getStoredAt().getPartition()
                            && r.offset() == notice.getStoredAt().getOffset())
                .findFirst()
                .orElseThrow();
        assertThat(notice.getContext().getTimingsMap()).containsKey("encoder.local.stored");
        assertThat(named.value().toBuilder().clearFeaturesFp16().build())
            .isEqualTo(
                notice.toBuilder()
                    .clearStoredAt()
                    .clearFeaturesBytes()
                    .setContext(
                        notice.getContext().toBuilder().removeTimings("encoder.local.stored"))
                    .build());
        assertThat(notice.getFeaturesBytes()).isEqualTo(576L * CHANNELS * 2);
        assertThat(notice.getStoredAt().getIndex()).isEqualTo(notice.getIndex());
      }
      // tiles of both requests went through one ModelInfer call
      assertThat(fake.calls())
          .anySatisfy(
              call -> {
                assertThat(call.getInputs(0).getShape(0)).isGreaterThan(1);
                assertThat(call.getId()).contains(a).contains(b);
              });
      assertThat(fake.calls().stream().mapToLong(c -> c.getInputs(0).getShape(0)).sum())
          .isEqualTo(6);
    } finally {
      encoder.close();
    }
  }

  @Test
  void deadLettersAnInvalidTileAndAnswersExpiredOnesWhileTheOthersFlow() {
    TopicCatalog catalog = new TopicCatalog("faults.");
    createTopic(catalog.tilesLocal());
    String good = "good-" + UUID.randomUUID();
    String bad = "bad-" + UUID.randomUUID();
    String late = "late-" + UUID.randomUUID();
    String after = "after-" + UUID.randomUUID();
    publish(catalog, tile(good, 0, 10, 0));
    publish(
        catalog, tile(bad, 0, 20, 0).toBuilder().setRgb(ByteString.copyFrom(new byte[12])).build());
    publish(catalog, tile(late, 0, 30, System.currentTimeMillis() - 1000));
    publish(catalog, tile(after, 0, 40, 0));

    ConfigurableApplicationContext encoder = startEncoder(catalog.prefix());
    try {
      List<ConsumerRecord<String, TileFeatures>> features =
          consume(catalog.features(), TileFeatures.parser(), r -> true, 2);
      assertThat(features).extracting(ConsumerRecord::key).containsExactly(good, after);

      List<ConsumerRecord<String, AnswerEvent>> errors =
          consume(catalog.answers(), AnswerEvent.parser(), r -> true, 2);
      assertThat(errors)
          .extracting(r -> r.key() + ":" + r.value().getError().getCode())
          .containsExactlyInAnyOrder(bad + ":invalid_tile", late + ":deadline_exceeded");

      ConsumerRecord<String, byte[]> dead =
          consume(
                  catalog.deadLetter(Topic.TILES_LOCAL),
                  new ByteArrayDeserializer(),
                  r -> r.key().equals(bad),
                  1)
              .get(0);
      assertThat(FerretHeaders.get(dead.headers(), FerretHeaders.ERROR_SERVICE))
          .isEqualTo("encoder-service");
      assertThat(FerretHeaders.get(dead.headers(), FerretHeaders.ERROR_CLASS))
          .isEqualTo("permanent");
      assertThat(fake.calls()).extracting(ModelInferRequest::getId).doesNotContain(bad, late);
    } finally {
      encoder.close();
    }
  }

  @Test
  void isReadyOnlyWhileTheModelIsReady() throws Exception {
    ConfigurableApplicationContext encoder = startEncoder("health.");
    try {
      URI readiness =
          URI.create(
              "http://localhost:"
                  + encoder.getEnvironment().getProperty("local.server.port")
                  + "/actuator/health/readiness");
      HttpClient http = HttpClient.newHttpClient();

      HttpResponse<String> ready =
          http.send(HttpRequest.newBuilder(readiness).build(), BodyHandlers.ofString());
      fake.setModelReady(false);
      HttpResponse<String> notReady =
          http.send(HttpRequest.newBuilder(readiness).build(), BodyHandlers.ofString());

      assertThat(ready.statusCode()).isEqualTo(200);
      assertThat(notReady.statusCode()).isEqualTo(503);
      assertThat(notReady.body()).contains("DOWN");
    } finally {
      encoder.close();
    }
  }

  @Test
  void refusesToStartWhenTheModelContractDiffers() {
    fake.advertiseInput("FP32", -1L, 224L, 224L, 3L);

    assertThatThrownBy(() -> startEncoder("contract.").close())
        .hasRootCauseInstanceOf(IllegalStateException.class)
        .rootCause()
        .hasMessageContaining("'pixels' is FP32, expected UINT8")
        .hasMessageContaining("224");
  }

  private static Tile tile(String id, int index, int red, long deadline) {
    return Tile.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(id).setDeadlineUnixMs(deadline))
        .setKind(TileKind.TILE_KIND_LOCAL)
        .setIndex(index)
        .setLocalCount(3)
        .setLayout(GridLayout.newBuilder().setCols(3).setRows(1).setTileSize(336))
        .setWidth(336)
        .setHeight(336)
        .setRgb(FakeEncoderModel.solidTile(red))
        .build();
  }

  private static void createTopic(String name) {
    broker.addTopics(
        new NewTopic(name, 1, (short) 1).configs(Map.of("max.message.bytes", "16777216")));
  }

  private void publish(TopicCatalog catalog, Tile tile) {
    try {
      producer
          .send(
              new ProducerRecord<>(
                  catalog.tilesLocal(), 0, tile.getContext().getRequestId(), (Object) tile))
          .get();
    } catch (Exception e) {
      throw new IllegalStateException("could not publish a test tile", e);
    }
  }

  private static <T extends MessageLite> List<ConsumerRecord<String, T>> consume(
      String topic, Parser<T> parser, Predicate<ConsumerRecord<String, T>> filter, int count) {
    return consume(topic, new ProtobufDeserializer<>(parser), filter, count);
  }

  private static <T> List<ConsumerRecord<String, T>> consume(
      String topic,
      Deserializer<T> values,
      Predicate<ConsumerRecord<String, T>> filter,
      int count) {
    List<ConsumerRecord<String, T>> found = new ArrayList<>();
    try (KafkaConsumer<String, T> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.getBrokersAsString(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "encoder-it-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                16 * 1024 * 1024),
            new StringDeserializer(),
            values)) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(200))) {
                  if (filter.test(r)) {
                    found.add(r);
                  }
                }
                return found.size() >= count;
              });
    }
    assertThat(found).hasSize(count);
    return found;
  }
}

package ai.ferretstream.tiler.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.ProtobufDeserializer;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.ResizeMode;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.TestImages;
import ai.ferretstream.tiler.TilerApplication;
import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.kafka.test.utils.ContainerTestUtils;

/** The tiler against a real KRaft broker, started the way the launcher starts it. */
@EmbeddedKafka(
    count = 1,
    partitions = 1,
    brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS,
    brokerProperties = "auto.create.topics.enable=false")
class TilerIT {

  private static final TopicCatalog CATALOG = new TopicCatalog("it.");

  private static EmbeddedKafkaBroker broker;
  private static ConfigurableApplicationContext tiler;
  private static KafkaProducer<String, Object> producer;

  @BeforeAll
  static void startTiler(EmbeddedKafkaBroker embedded) {
    broker = embedded;
    tiler =
        TilerApplication.builder()
            .run(
                "--spring.kafka.bootstrap-servers=" + broker.getBrokersAsString(),
                "--server.port=0",
                "--ferret.topics.prefix=it.",
                "--ferret.topics.partitions=2",
                "--ferret.kafka.retries=0");
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

  @AfterAll
  static void stopTiler() {
    if (producer != null) {
      producer.close();
    }
    if (tiler != null) {
      tiler.close();
    }
  }

  @Test
  void publishesTheGlobalViewAndTheLocalTilesOfAPng() throws Exception {
    String id = "png-" + UUID.randomUUID();
    // 672x336 is exactly a 2x1 canvas: the left tile is the red half, the right one the blue half
    byte[] png = TestImages.png(TestImages.redAndBlue(672, 336));

    ask(id, png, 0);

    List<Tile> globals = consume(CATALOG.tilesGlobal(), Tile.parser(), id, 1);
    List<Tile> locals = consume(CATALOG.tilesLocal(), Tile.parser(), id, 2);
    GridLayout expectedLayout =
        GridLayout.newBuilder()
            .setImageWidth(672)
            .setImageHeight(336)
            .setCols(2)
            .setRows(1)
            .setTileSize(336)
            .setCanvasWidth(672)
            .setCanvasHeight(336)
            .setMode(ResizeMode.RESIZE_MODE_STRETCH)
            .setContentWidth(672)
            .setContentHeight(336)
            .build();
    Tile global = globals.get(0);
    assertThat(global.getKind()).isEqualTo(TileKind.TILE_KIND_GLOBAL);
    assertThat(global.getIndex()).isZero();
    assertThat(global.getLocalCount()).isEqualTo(2);
    assertThat(global.getLayout()).isEqualTo(expectedLayout);
    assertThat(global.getImageRect().getX1()).isEqualTo(672);
    assertThat(pixel(global, 10, 100)).containsExactly(255, 0, 0);
    assertThat(pixel(global, 326, 100)).containsExactly(0, 0, 255);
    assertThat(global.getContext().getTimingsMap()).containsKeys("tiler.received", "tiler.done");

    assertThat(locals).extracting(Tile::getIndex).containsExactly(0, 1);
    assertThat(locals).allMatch(t -> t.getKind() == TileKind.TILE_KIND_LOCAL);
    assertThat(locals).allMatch(t -> t.getLayout().equals(expectedLayout));
    assertThat(locals).allMatch(t -> t.getWidth() == 336 && t.getHeight() == 336);
    assertThat(locals).allMatch(t -> t.getRgb().size() == 336 * 336 * 3);
    assertThat(locals.get(1).getCanvasRect().getX0()).isEqualTo(336);
    assertThat(locals.get(1).getImageRect().getX0()).isEqualTo(336);
    assertThat(everyPixel(locals.get(0))).containsOnly(0xff0000);
    assertThat(everyPixel(locals.get(1))).containsOnly(0x0000ff);
  }

  @Test
  void tellsTheClientWhenTheImageCannotBeDecoded() {
    String id = "corrupt-" + UUID.randomUUID();
    byte[] png = TestImages.png(TestImages.redAndBlue(64, 64));
    byte[] corrupt = java.util.Arrays.copyOf(png, 40); // header, then nothing

    ask(id, corrupt, 0);

    AnswerEvent event = consume(CATALOG.answers(), AnswerEvent.parser(), id, 1).get(0);
    assertThat(event.getError().getCode()).isEqualTo("invalid_image");
    assertThat(event.getError().getStage()).isEqualTo("tiler-service");
    assertThat(event.getError().getRetryable()).isFalse();
    ConsumerRecord<String, byte[]> dead =
        consumeRaw(CATALOG.deadLetter(ai.ferretstream.proto.kafka.Topic.REQUESTS), id);
    assertThat(FerretHeaders.get(dead.headers(), FerretHeaders.ERROR_SERVICE))
        .isEqualTo("tiler-service");
    assertThat(FerretHeaders.get(dead.headers(), FerretHeaders.ERROR_CLASS)).isEqualTo("permanent");
  }

  @Test
  void refusesHostileImagesOneByOneAndKeepsServing() {
    // a 60000x60000 PNG of a few KB, nothing, a PDF, a JPEG cut in half
    java.util.LinkedHashMap<String, byte[]> hostile = new java.util.LinkedHashMap<>();
    hostile.put(
        "bomb", ai.ferretstream.tiler.domain.decode.HostileImageTest.pngBomb(60_000, 60_000));
    hostile.put("empty", new byte[0]);
    hostile.put(
        "pdf", "%PDF-1.7 not an image".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    byte[] jpeg =
        ai.ferretstream.tiler.domain.decode.ImageDecoderTest.encode(
            ai.ferretstream.tiler.domain.decode.ImageDecoderTest.rgbImage(300, 200), "jpeg");
    hostile.put("truncated", java.util.Arrays.copyOf(jpeg, jpeg.length / 2));
    Map<String, String> codes =
        Map.of(
            "bomb", "image_too_large",
            "empty", "invalid_image",
            "pdf", "invalid_image",
            "truncated", "invalid_image");
    String run = UUID.randomUUID().toString();
    hostile.forEach((name, bytes) -> ask(name + "-" + run, bytes, 0));
    String good = "after-" + run;
    ask(good, TestImages.png(TestImages.redAndBlue(1, 1)), 0);

    for (String name : hostile.keySet()) {
      AnswerEvent event =
          consume(CATALOG.answers(), AnswerEvent.parser(), name + "-" + run, 1).get(0);
      assertThat(event.getError().getCode()).as(name).isEqualTo(codes.get(name));
      assertThat(event.getError().getMessage()).as(name).isNotBlank().doesNotContain("Exception");
    }
    // the 1x1 image after them is tiled: one global view, one local tile
    assertThat(consume(CATALOG.tilesGlobal(), Tile.parser(), good, 1)).hasSize(1);
    assertThat(consume(CATALOG.tilesLocal(), Tile.parser(), good, 1).get(0).getWidth())
        .isEqualTo(336);
    io.micrometer.core.instrument.MeterRegistry meters =
        tiler.getBean(io.micrometer.core.instrument.MeterRegistry.class);
    assertThat(meters.find("ferret.tiler.refused").tag("reason", "too_many_pixels").counter())
        .isNotNull();
    assertThat(meters.find("ferret.tiler.grids").tag("grid", "1x1").counter()).isNotNull();
  }

  @Test
  void answersDeadlineExceededForAnExpiredRequest() {
    String id = "late-" + UUID.randomUUID();

    ask(id, TestImages.png(TestImages.redAndBlue(64, 64)), System.currentTimeMillis() - 1000);

    AnswerEvent event = consume(CATALOG.answers(), AnswerEvent.parser(), id, 1).get(0);
    assertThat(event.getError().getCode()).isEqualTo("deadline_exceeded");
  }

  @Test
  void deadLettersARequestWhoseReplyToNamesAnotherTopicOrAMissingPartition() {
    String run = UUID.randomUUID().toString();
    String elsewhere = "elsewhere-" + run;
    // both on the partition of the valid request that follows them
    String nowhere = onPartitionOf(elsewhere, "nowhere-" + run);
    String valid = onPartitionOf(elsewhere, "valid-" + run);
    byte[] png = TestImages.png(TestImages.redAndBlue(64, 64));
    // expired: the tiler would answer it at once, on the topic it names
    ask(
        ReplyTo.newBuilder().setTopic(CATALOG.fused()).setPartition(0),
        elsewhere,
        png,
        System.currentTimeMillis() - 1000);
    ask(ReplyTo.newBuilder().setPartition(99), nowhere, png, 0);
    ask(ReplyTo.newBuilder().setPartition(1), valid, png, 0);

    assertThat(consume(CATALOG.tilesGlobal(), Tile.parser(), valid, 1)).hasSize(1);
    String dlt = CATALOG.deadLetter(ai.ferretstream.proto.kafka.Topic.REQUESTS);
    ConsumerRecord<String, byte[]> deadElsewhere = consumeRaw(dlt, elsewhere);
    assertThat(FerretHeaders.get(deadElsewhere.headers(), FerretHeaders.ERROR_REASON))
        .isEqualTo(
            "reply_to.topic 'it.ferret.fused' is not the answers topic 'it.ferret.answers' (leave"
                + " it empty for the answers topic)");
    assertThat(FerretHeaders.get(deadElsewhere.headers(), FerretHeaders.ERROR_CLASS))
        .isEqualTo("permanent");
    ConsumerRecord<String, byte[]> deadNowhere = consumeRaw(dlt, nowhere);
    assertThat(FerretHeaders.get(deadNowhere.headers(), FerretHeaders.ERROR_REASON))
        .isEqualTo(
            "reply_to.partition 99 is not a partition of it.ferret.answers (0..1, or -1 to"
                + " partition by key)");
    // nothing went to the topic it named, nor was the other one tiled; a reader of the answers
    // topic learns why, by key
    assertThat(keysOn(CATALOG.fused())).doesNotContain(elsewhere);
    assertThat(keysOn(CATALOG.tilesGlobal())).doesNotContain(nowhere);
    assertThat(keysOn(CATALOG.tilesLocal())).doesNotContain(nowhere);
    for (String id : List.of(elsewhere, nowhere)) {
      AnswerEvent event = consume(CATALOG.answers(), AnswerEvent.parser(), id, 1).get(0);
      assertThat(event.getError().getCode()).isEqualTo("invalid_reply_to");
    }
  }

  @Test
  void skipsARequestCancelledBeforeItWasTiled() {
    ContainerTestUtils.waitForAssignment(
        tiler
            .getBean(KafkaListenerEndpointRegistry.class)
            .getListenerContainer("tiler-service-control"),
        producer.partitionsFor(CATALOG.control()).size());
    String run = UUID.randomUUID().toString();
    String gone = "gone-" + run;
    String kept = onPartitionOf(gone, "kept-" + run);
    send(CATALOG.control(), gone, Cancel.newBuilder().setRequestId(gone).build());
    CancelledRequests cancelled = tiler.getBean(CancelledRequests.class);
    await().atMost(Duration.ofSeconds(30)).until(() -> cancelled.contains(gone));

    byte[] png = TestImages.png(TestImages.redAndBlue(64, 64));
    ask(gone, png, 0);
    ask(kept, png, 0);

    // the kept request came after the cancelled one on the same partition: once its tiles are out,
    // the cancelled one has been passed over
    assertThat(consume(CATALOG.tilesGlobal(), Tile.parser(), kept, 1)).hasSize(1);
    assertThat(keysOn(CATALOG.tilesGlobal())).doesNotContain(gone);
    assertThat(keysOn(CATALOG.tilesLocal())).doesNotContain(gone);
    assertThat(keysOn(CATALOG.answers())).doesNotContain(gone);
    assertThat(
            tiler
                .getBean(io.micrometer.core.instrument.MeterRegistry.class)
                .get("ferret.tiler.cancelled")
                .counter()
                .count())
        .isEqualTo(1.0);
  }

  /** {@code prefix} with a suffix that puts its records on the requests partition of {@code id}. */
  private static String onPartitionOf(String id, String prefix) {
    int partitions = producer.partitionsFor(CATALOG.requests()).size();
    int wanted = partitionOf(id, partitions);
    for (int i = 0; ; i++) {
      String candidate = prefix + "-" + i;
      if (partitionOf(candidate, partitions) == wanted) {
        return candidate;
      }
    }
  }

  private static int partitionOf(String key, int partitions) {
    return org.apache.kafka.common.utils.Utils.toPositive(
            org.apache.kafka.common.utils.Utils.murmur2(
                key.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        % partitions;
  }

  /** The keys of every record on {@code topic} now, read up to its end. */
  private static List<String> keysOn(String topic) {
    List<String> keys = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            consumerConfig(), new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  keys.add(r.key());
                }
                return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
              });
    }
    return keys;
  }

  private static void ask(String id, byte[] image, long deadline) {
    ask(null, id, image, deadline);
  }

  private static void ask(ReplyTo.Builder replyTo, String id, byte[] image, long deadline) {
    RequestContext.Builder context =
        RequestContext.newBuilder()
            .setRequestId(id)
            .setDeadlineUnixMs(deadline)
            .setPrompt("What is red?");
    if (replyTo != null) {
      context.setReplyTo(replyTo);
    }
    AskRequest request =
        AskRequest.newBuilder()
            .setContext(context)
            .setImage(ByteString.copyFrom(image))
            .setImageMediaType("image/png")
            .build();
    send(CATALOG.requests(), id, request);
  }

  private static void send(String topic, String key, Object value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    } catch (Exception e) {
      throw new IllegalStateException("could not publish the test record", e);
    }
  }

  /** The values keyed {@code id} on {@code topic}, waiting until {@code count} arrived. */
  private static <T extends MessageLite> List<T> consume(
      String topic, Parser<T> parser, String id, int count) {
    List<T> values = new ArrayList<>();
    try (KafkaConsumer<String, T> consumer =
        new KafkaConsumer<>(
            consumerConfig(), new StringDeserializer(), new ProtobufDeserializer<>(parser))) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(200))) {
                  if (id.equals(r.key())) {
                    values.add(r.value());
                  }
                }
                return values.size() >= count;
              });
    }
    assertThat(values).hasSize(count);
    return values;
  }

  private static ConsumerRecord<String, byte[]> consumeRaw(String topic, String id) {
    List<ConsumerRecord<String, byte[]>> found = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            consumerConfig(), new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  if (id.equals(r.key())) {
                    found.add(r);
                  }
                }
                return !found.isEmpty();
              });
    }
    return found.get(0);
  }

  private static Map<String, Object> consumerConfig() {
    return Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
        broker.getBrokersAsString(),
        ConsumerConfig.GROUP_ID_CONFIG,
        "tiler-it-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
        "earliest",
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
        16 * 1024 * 1024);
  }

  private static int[] pixel(Tile tile, int x, int y) {
    ByteString rgb = tile.getRgb();
    int p = (y * tile.getWidth() + x) * 3;
    return new int[] {rgb.byteAt(p) & 0xff, rgb.byteAt(p + 1) & 0xff, rgb.byteAt(p + 2) & 0xff};
  }

  private static List<Integer> everyPixel(Tile tile) {
    byte[] rgb = tile.getRgb().toByteArray();
    List<Integer> colours = new ArrayList<>(rgb.length / 3);
    for (int p = 0; p < rgb.length; p += 3) {
      colours.add((rgb[p] & 0xff) << 16 | (rgb[p + 1] & 0xff) << 8 | (rgb[p + 2] & 0xff));
    }
    return colours;
  }
}

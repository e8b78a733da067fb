package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.testsupport.TestImages;
import ai.ferretstream.tiler.domain.Grid;
import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.PixelRect;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.TilingPlan;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The whole stack (broker, inference server with the dev models, all services) on ephemeral ports,
 * asked through the public API about synthetic images: a white background with a red and a blue
 * rectangle at known places, in shapes that pick different any-resolution grids. The dev models
 * answer colour questions, so a wrong grid, tile order, upsample or coordinate mapping shows up as
 * a wrong box or colour. Grounding and referring run in every tiling mode of the tiler (a stack of
 * its own per mode), on shapes that the pad mode pads above and below or left and right.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndIT {

  private static final Logger log = LoggerFactory.getLogger(EndToEndIT.class);
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(2);
  private static final String MODEL = "ferret-v2-dev";

  /** A rectangle [x0, x1) x [y0, y1) in pixels. */
  record Rect(int x0, int y0, int x1, int y1) {}

  /**
   * An image shape and the grid the Ferret-v2 resolution set picks for it.
   *
   * @param cols grid columns
   * @param rows grid rows
   */
  record Shape(int width, int height, int cols, int rows) {
    Rect red() {
      return new Rect(width * 10 / 100, height * 15 / 100, width * 40 / 100, height * 50 / 100);
    }

    Rect blue() {
      return new Rect(width * 60 / 100, height * 55 / 100, width * 85 / 100, height * 90 / 100);
    }

    /** Width of one cell of the merged local feature map in stretch mode, in original pixels. */
    double cellWidth() {
      return (double) width / (cols * 24);
    }

    double cellHeight() {
      return (double) height / (rows * 24);
    }

    /** How the tiler lays this shape out in {@code mode}. */
    TilingPlan plan(ResizeMode mode) {
      return new TilingPlan(width, height, new Grid(cols, rows), TILE_SIZE, mode);
    }

    @Override
    public String toString() {
      return width + "x" + height + " (" + cols + "x" + rows + ")";
    }
  }

  static Stream<Shape> shapes() {
    return Stream.of(
        new Shape(1920, 1080, 3, 2), new Shape(800, 1200, 2, 3), new Shape(1024, 1024, 2, 2));
  }

  /** Edge of one tile, as the tiler's default; 24 feature cells across. */
  private static final int TILE_SIZE = 336;

  /** A shape asked about on a stack whose tiler runs in {@code mode}. */
  record Tiling(ResizeMode mode, Shape shape) {
    TilingPlan plan() {
      return shape.plan(mode);
    }

    @Override
    public String toString() {
      PixelRect content = plan().content();
      return mode.label()
          + " "
          + shape
          + (content.equals(plan().canvas())
              ? ""
              : " content "
                  + content.width()
                  + "x"
                  + content.height()
                  + " at "
                  + content.x0()
                  + ","
                  + content.y0());
    }
  }

  /**
   * Every tiling mode with the three shapes above and two that the pad mode pads: 1000x400 (2.5:1,
   * content 1008x404 at y 134 on a 3x2 canvas) and 500x1000 (1:2, content 504x1008 at x 84 on 2x3).
   */
  static Stream<Tiling> tilings() {
    List<Shape> shapes = new ArrayList<>(shapes().toList());
    shapes.add(new Shape(1000, 400, 3, 2));
    shapes.add(new Shape(500, 1000, 2, 3));
    return Stream.of(ResizeMode.values())
        .flatMap(mode -> shapes.stream().map(shape -> new Tiling(mode, shape)));
  }

  private final JsonMapper json = JsonMapper.shared();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final List<String> latencies = new ArrayList<>();
  private LocalStack stack;

  /** The stacks of the other tiling modes, started when first asked. */
  private final java.util.Map<ResizeMode, LocalStack> otherModes =
      new java.util.EnumMap<>(ResizeMode.class);

  @BeforeAll
  void startStack() {
    stack = start(ResizeMode.STRETCH);
  }

  private static LocalStack start(ResizeMode mode) {
    return LocalStack.builder()
        .gatewayPort(0)
        .kafkaPort(0)
        .grpcPort(0)
        .tilerMode(mode.label())
        .start();
  }

  /** The stack whose tiler runs in {@code mode}. */
  private LocalStack stack(ResizeMode mode) {
    return mode == ResizeMode.STRETCH ? stack : otherModes.computeIfAbsent(mode, m -> start(m));
  }

  @AfterAll
  void stopStack() throws IOException {
    try {
      Path report = Path.of("target", "e2e-latency.txt");
      Files.createDirectories(report.getParent());
      List<String> lines = new ArrayList<>();
      lines.add(
          "# end-to-end latency of streamed requests through the whole local stack (dev models,"
              + " CPU), client side: time to the first content chunk and to [DONE]");
      lines.addAll(latencies);
      Files.write(report, lines, StandardCharsets.UTF_8);
      log.info("end-to-end latency:\n{}", String.join("\n", lines));
    } finally {
      for (LocalStack other : otherModes.values()) {
        other.close();
      }
      if (stack != null) {
        stack.close();
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // the cases

  @ParameterizedTest(name = "{0}")
  @MethodSource("tilings")
  void groundsTheRedObjectInOriginalPixelsWithinOneFeatureCell(Tiling tiling) throws Exception {
    Shape shape = tiling.shape();
    Streamed answer =
        stream(
            stack(tiling.mode()), shape, "Where is the red object?", true, "grounding " + tiling);

    assertThat(answer.contentChunks).as("content chunks of %s", answer.text).isGreaterThan(1);
    assertThat(answer.boxes).as("boxes in %s", answer.text).isNotEmpty();
    assertBoxOn(tiling, answer.boxes.get(0), shape.red());
  }

  /** The padded shapes of {@link #tilings()} are padded, and picked the grid they name. */
  @Test
  void thePaddedShapesArePaddedOnTheirGrid() {
    GridSelector grids = GridSelector.of(GridSelector.FERRET_V2, TILE_SIZE);
    List<Tiling> padded =
        tilings()
            .filter(t -> t.mode() == ResizeMode.PAD)
            .filter(t -> !t.plan().content().equals(t.plan().canvas()))
            .toList();
    assertThat(padded).extracting(t -> t.shape().toString()).contains("1000x400 (3x2)");
    assertThat(padded).extracting(t -> t.shape().toString()).contains("500x1000 (2x3)");
    assertThat(tilings())
        .allSatisfy(
            t ->
                assertThat(grids.select(t.shape().width(), t.shape().height()))
                    .isEqualTo(new Grid(t.shape().cols(), t.shape().rows())));
  }

  /**
   * The blue rectangle of {@code shape} as a region in the 0..999 grid, {@code [x1, y1, x2, y2]}.
   */
  private static String blueRegion(Shape shape) {
    Rect blue = shape.blue();
    return "["
        + q(blue.x0(), shape.width())
        + ", "
        + q(blue.y0(), shape.height())
        + ", "
        + q(blue.x1() - 1, shape.width())
        + ", "
        + q(blue.y1() - 1, shape.height())
        + "]";
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tilings")
  void namesTheColourOfAReferredRegion(Tiling tiling) throws Exception {
    Shape shape = tiling.shape();
    String region = blueRegion(shape);
    Streamed answer =
        stream(
            stack(tiling.mode()),
            shape,
            "What is in " + region + " <region_fea>?",
            false,
            "referring " + tiling);

    assertThat(answer.text.toLowerCase(Locale.ROOT)).contains("blue");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void answersWithoutStreamingWithTheBox(Shape shape) throws Exception {
    HttpResponse<String> response =
        post(request(shape, image(shape), "Where is the red object?", true, false));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode body = json.readTree(response.body());
    assertThat(body.get("object").stringValue()).isEqualTo("chat.completion");
    assertThat(body.get("id").stringValue()).startsWith("chatcmpl-");
    JsonNode message = body.at("/choices/0/message");
    assertThat(message.get("role").stringValue()).isEqualTo("assistant");
    assertThat(message.get("content").stringValue()).isNotBlank();
    assertThat(message.get("boxes").isEmpty()).as(response.body()).isFalse();
    assertBoxOn(new Tiling(ResizeMode.STRETCH, shape), message.get("boxes").get(0), shape.red());
    assertThat(body.at("/choices/0/finish_reason").stringValue()).isNotBlank();
  }

  /**
   * Regions of every shape — box, point, polygon and binary mask PNG — in an {@code AskRequest}
   * published straight to {@code ferret.requests} (event-driven ingestion), each on one of the two
   * coloured rectangles: the answer, read from {@code ferret.answers}, names that colour.
   */
  @Test
  void namesTheColourOfRegionsOfEveryShapeSentStraightToKafka() throws Exception {
    Shape shape = new Shape(1920, 1080, 3, 2);
    byte[] png = image(shape);
    Rect blue = shape.blue();
    Rect red = shape.red();
    int cx = (blue.x0() + blue.x1()) / 2;
    int cy = (blue.y0() + blue.y1()) / 2;
    java.util.Map<String, ai.ferretstream.proto.v1.Region> regions =
        new java.util.LinkedHashMap<>();
    regions.put(
        "blue box",
        pixels()
            .setBox(
                ai.ferretstream.proto.v1.Box.newBuilder()
                    .setX1(blue.x0() + 10)
                    .setY1(blue.y0() + 10)
                    .setX2(blue.x1() - 10)
                    .setY2(blue.y1() - 10))
            .build());
    regions.put(
        "blue point",
        pixels().setPoint(ai.ferretstream.proto.v1.Point.newBuilder().setX(cx).setY(cy)).build());
    regions.put(
        "red polygon",
        pixels()
            .setPolygon(
                ai.ferretstream.proto.v1.Polygon.newBuilder()
                    .addVertices(point(red.x0() + 20, red.y0() + 20))
                    .addVertices(point(red.x1() - 20, red.y0() + 40))
                    .addVertices(point((red.x0() + red.x1()) / 2, red.y1() - 20)))
            .build());
    regions.put(
        "blue mask",
        pixels().setMaskPng(com.google.protobuf.ByteString.copyFrom(mask(shape, blue))).build());

    java.util.Map<String, String> ids = new java.util.LinkedHashMap<>();
    try (org.apache.kafka.clients.producer.KafkaProducer<String, Object> producer =
        new org.apache.kafka.clients.producer.KafkaProducer<>(
            java.util.Map.of(
                "bootstrap.servers", stack.bootstrapServers(), "max.request.size", 16 << 20),
            new org.apache.kafka.common.serialization.StringSerializer(),
            new ai.ferretstream.proto.kafka.ProtobufSerializer())) {
      for (var entry : regions.entrySet()) {
        String id = "kafka-" + entry.getKey().replace(' ', '-') + "-" + java.util.UUID.randomUUID();
        ids.put(entry.getKey(), id);
        ai.ferretstream.proto.v1.AskRequest ask =
            ai.ferretstream.proto.v1.AskRequest.newBuilder()
                .setContext(
                    ai.ferretstream.proto.v1.RequestContext.newBuilder()
                        .setRequestId(id)
                        .setCreatedUnixMs(System.currentTimeMillis())
                        .setDeadlineUnixMs(System.currentTimeMillis() + 120_000)
                        .setReplyTo(ai.ferretstream.proto.v1.ReplyTo.newBuilder().setPartition(0))
                        .setPrompt("What is in <region_fea>?")
                        .addRegions(entry.getValue())
                        .setModel(MODEL))
                .setImage(com.google.protobuf.ByteString.copyFrom(png))
                .build();
        producer
            .send(
                new org.apache.kafka.clients.producer.ProducerRecord<>("ferret.requests", id, ask))
            .get();
      }
    }

    java.util.Map<String, StringBuilder> texts = new java.util.HashMap<>();
    java.util.Set<String> done = new java.util.HashSet<>();
    try (org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]> consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<>(
            java.util.Map.of("bootstrap.servers", stack.bootstrapServers()),
            new org.apache.kafka.common.serialization.StringDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      org.apache.kafka.common.TopicPartition answers =
          new org.apache.kafka.common.TopicPartition("ferret.answers", 0);
      consumer.assign(List.of(answers));
      consumer.seekToBeginning(List.of(answers));
      long deadline = System.nanoTime() + REQUEST_TIMEOUT.toNanos();
      while (done.size() < ids.size() && System.nanoTime() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          if (!ids.containsValue(record.key())) {
            continue;
          }
          ai.ferretstream.proto.v1.AnswerEvent event =
              ai.ferretstream.proto.v1.AnswerEvent.parseFrom(record.value());
          switch (event.getEventCase()) {
            case DELTA ->
                texts
                    .computeIfAbsent(record.key(), k -> new StringBuilder())
                    .append(event.getDelta().getText());
            case DONE -> done.add(record.key());
            case ERROR -> {
              done.add(record.key());
              texts
                  .computeIfAbsent(record.key(), k -> new StringBuilder())
                  .append("ERROR ")
                  .append(event.getError().getCode())
                  .append(": ")
                  .append(event.getError().getMessage());
            }
            default -> {}
          }
        }
      }
    }
    for (var entry : ids.entrySet()) {
      String colour = entry.getKey().split(" ")[0];
      String text = String.valueOf(texts.get(entry.getValue())).toLowerCase(Locale.ROOT);
      assertThat(text).as("answer about the %s", entry.getKey()).contains(colour);
    }
  }

  private static ai.ferretstream.proto.v1.Region.Builder pixels() {
    return ai.ferretstream.proto.v1.Region.newBuilder()
        .setSpace(ai.ferretstream.proto.v1.CoordinateSpace.COORDINATE_SPACE_PIXELS);
  }

  private static ai.ferretstream.proto.v1.Point point(int x, int y) {
    return ai.ferretstream.proto.v1.Point.newBuilder().setX(x).setY(y).build();
  }

  /** A 1-bit PNG of the image's size, set inside {@code inside}. */
  private static byte[] mask(Shape shape, Rect inside) {
    BufferedImage mask =
        new BufferedImage(shape.width(), shape.height(), BufferedImage.TYPE_BYTE_BINARY);
    fill(mask, Color.WHITE, inside);
    return TestImages.png(mask);
  }

  @Test
  void theEncodersFusionAndTheLlmPassTheirTensorsAndMapsThroughSharedMemory() throws Exception {
    Shape shape = new Shape(1920, 1080, 3, 2);
    Streamed answer =
        stream(stack, shape, "Where is the red object?", true, "shared memory " + shape);
    assertBoxOn(new Tiling(ResizeMode.STRETCH, shape), answer.boxes.get(0), shape.red());
    String region = blueRegion(shape);
    Streamed named =
        stream(
            stack, shape, "What is in " + region + " <region_fea>?", true, "shared memory region");
    assertThat(named.text.toLowerCase(Locale.ROOT)).contains("blue");

    ManagedChannel channel =
        ManagedChannelBuilder.forAddress("localhost", stack.grpcPort()).usePlaintext().build();
    try {
      SystemSharedMemoryStatusResponse status =
          GRPCInferenceServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .systemSharedMemoryStatus(SystemSharedMemoryStatusRequest.getDefaultInstance());
      // both encoders (2 + 4 slots), fusion (2) and the llm (8) registered theirs on first use
      assertThat(status.getRegionsMap().keySet())
          .filteredOn(name -> name.startsWith("ferret-encoder-service-"))
          .hasSize(6);
      assertThat(status.getRegionsMap().keySet())
          .filteredOn(name -> name.startsWith("ferret-fusion-service-"))
          .hasSize(2);
      assertThat(status.getRegionsMap().keySet())
          .filteredOn(name -> name.startsWith("ferret-llm-service-"))
          .hasSize(8);
    } finally {
      channel.shutdownNow();
    }

    // the maps went through the shared-memory feature store, not the broker: no record was ever
    // published to ferret.features (by any test of this stack), and the llm removed each
    // request's files once its answer was on the broker
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            java.util.Map.of("bootstrap.servers", stack.bootstrapServers()))) {
      var partitions =
          admin
              .describeTopics(List.of("ferret.features"))
              .allTopicNames()
              .get(10, TimeUnit.SECONDS)
              .get("ferret.features")
              .partitions();
      java.util.Map<
              org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>
          latest = new java.util.HashMap<>();
      for (var p : partitions) {
        latest.put(
            new org.apache.kafka.common.TopicPartition("ferret.features", p.partition()),
            org.apache.kafka.clients.admin.OffsetSpec.latest());
      }
      long records = 0;
      for (var offset : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values()) {
        records += offset.offset();
      }
      assertThat(records).as("records ever published to ferret.features").isZero();
    }
    // the tiles' pixels went through the store too (ADR 0012): every tile record names its file
    List<Tile> tiles = allTiles();
    assertThat(tiles).isNotEmpty();
    assertThat(tiles)
        .allSatisfy(
            tile -> {
              assertThat(tile.getRgb().isEmpty()).as("a tile record carries pixels").isTrue();
              assertThat(tile.getRgbSharedFile())
                  .isEqualTo(
                      SharedFeatureStore.tileFileName(
                          tile.getContext().getRequestId(), tile.getKind(), tile.getIndex()));
            });
    Path store = stack.sharedFeatureStore();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    long left;
    do {
      // a request's own files are removed once it is answered; the feature cache's images
      // (fc-..., ADR 0018) and its lock file are meant to stay
      try (Stream<Path> files = Files.list(store)) {
        left =
            files
                .map(f -> f.getFileName().toString())
                .filter(n -> !n.startsWith("fc-") && !n.equals("fc.lock"))
                .count();
      }
    } while (left > 0 && System.nanoTime() < until && sleep(50));
    assertThat(left).as("per-request feature and tile files left in " + store).isZero();
    try (Stream<Path> files = Files.list(store)) {
      assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("fc-")))
          .as("the feature cache keeps the images' maps")
          .isNotEmpty();
    }
  }

  /** Every record published to the tile topics so far, by any test of this stack. */
  private List<Tile> allTiles() {
    java.util.Map<String, Object> config =
        java.util.Map.of(
            "bootstrap.servers",
            stack.bootstrapServers(),
            "key.deserializer",
            org.apache.kafka.common.serialization.StringDeserializer.class,
            "value.deserializer",
            org.apache.kafka.common.serialization.ByteArrayDeserializer.class,
            "max.partition.fetch.bytes",
            16 << 20);
    List<Tile> tiles = new java.util.ArrayList<>();
    try (var consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(config)) {
      List<org.apache.kafka.common.TopicPartition> partitions = new java.util.ArrayList<>();
      for (String topic : List.of("ferret.tiles.global", "ferret.tiles.local")) {
        consumer
            .partitionsFor(topic)
            .forEach(
                p ->
                    partitions.add(
                        new org.apache.kafka.common.TopicPartition(topic, p.partition())));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))
          && System.nanoTime() < until) {
        for (var record : consumer.poll(java.time.Duration.ofMillis(200))) {
          try {
            tiles.add(Tile.parseFrom(record.value()));
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("an undecodable tile record", e);
          }
        }
      }
      assertThat(partitions).allMatch(p -> consumer.position(p) >= end.get(p));
    }
    return tiles;
  }

  private static boolean sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
    return true;
  }

  @Test
  void refusesADataUrlThatIsNotAnImage() throws Exception {
    ObjectNode request = request(new Shape(64, 64, 1, 1), null, "What is this?", false, false);
    setImageUrl(
        request, "data:text/plain;base64," + base64("hello".getBytes(StandardCharsets.UTF_8)));

    HttpResponse<String> response = post(request);

    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode error = json.readTree(response.body()).get("error");
    assertThat(error.get("type").stringValue()).isEqualTo("invalid_request_error");
    assertThat(error.get("message").stringValue()).contains("text/plain");
  }

  @Test
  void reportsAnUndecodableImageAsAClientError() throws Exception {
    ObjectNode request = request(new Shape(64, 64, 1, 1), null, "What is this?", false, false);
    setImageUrl(
        request,
        "data:image/png;base64," + base64("this is not a png".getBytes(StandardCharsets.UTF_8)));

    HttpResponse<String> response = post(request);

    // the gateway only checks the declared type; the tiler finds the bytes undecodable and answers
    // with an error event, which the gateway maps to its HTTP status
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(json.readTree(response.body()).at("/error/message").stringValue()).isNotBlank();
  }

  // ------------------------------------------------------------------------------------------
  // helpers

  /** Ferret's 0..999 grid: q = int(x * 1000 / W). */
  private static int q(int pixel, int size) {
    return (int) ((long) pixel * 1000 / size);
  }

  /**
   * The box lies on the rectangle, in original-image pixels, within one feature cell of the canvas
   * (14 canvas pixels) and one step of the canvas's 0..999 grid the model writes on, both scaled by
   * the image's size over its size on the canvas, plus one step of the image's 0..999 grid (x_px =
   * int(q * W / 1000) loses up to W/1000 pixels).
   */
  private static void assertBoxOn(Tiling tiling, JsonNode box, Rect rect) {
    Shape shape = tiling.shape();
    TilingPlan plan = tiling.plan();
    PixelRect content = plan.content();
    double cell = (double) plan.tileSize() / 24;
    JsonNode grid = box.get("box");
    JsonNode pixels = box.get("box_pixels");
    int[] q = {
      grid.get(0).intValue(), grid.get(1).intValue(), grid.get(2).intValue(), grid.get(3).intValue()
    };
    int[] px = {
      pixels.get(0).intValue(),
      pixels.get(1).intValue(),
      pixels.get(2).intValue(),
      pixels.get(3).intValue()
    };
    assertThat(px)
        .as("box_pixels follow x_px = int(q * W / 1000) of %s", grid)
        .containsExactly(
            (int) ((long) q[0] * shape.width() / 1000),
            (int) ((long) q[1] * shape.height() / 1000),
            (int) ((long) q[2] * shape.width() / 1000),
            (int) ((long) q[3] * shape.height() / 1000));
    double tolX =
        (cell + plan.canvasWidth() / 1000.0) * shape.width() / content.width()
            + shape.width() / 1000.0;
    double tolY =
        (cell + plan.canvasHeight() / 1000.0) * shape.height() / content.height()
            + shape.height() / 1000.0;
    String what = "box " + box + " vs " + rect + " in " + tiling;
    assertThat((double) px[0]).as("x1 of " + what).isCloseTo(rect.x0(), within(tolX));
    assertThat((double) px[1]).as("y1 of " + what).isCloseTo(rect.y0(), within(tolY));
    assertThat((double) px[2]).as("x2 of " + what).isCloseTo(rect.x1() - 1, within(tolX));
    assertThat((double) px[3]).as("y2 of " + what).isCloseTo(rect.y1() - 1, within(tolY));
  }

  private static org.assertj.core.data.Offset<Double> within(double tolerance) {
    return org.assertj.core.data.Offset.offset(tolerance);
  }

  static byte[] image(Shape shape) {
    BufferedImage image = TestImages.plain(shape.width(), shape.height(), Color.WHITE);
    fill(image, Color.RED, shape.red());
    fill(image, Color.BLUE, shape.blue());
    return TestImages.png(image);
  }

  private static void fill(BufferedImage image, Color color, Rect r) {
    TestImages.fill(image, color, r.x0(), r.y0(), r.x1() - r.x0(), r.y1() - r.y0());
  }

  private static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  private ObjectNode request(
      Shape shape, byte[] png, String question, boolean grounding, boolean stream) {
    ObjectNode root = json.createObjectNode();
    root.put("model", MODEL);
    ObjectNode message = root.putArray("messages").addObject();
    message.put("role", "user");
    var content = message.putArray("content");
    content.addObject().put("type", "text").put("text", question);
    content
        .addObject()
        .put("type", "image_url")
        .putObject("image_url")
        .put("url", png == null ? "" : "data:image/png;base64," + base64(png));
    root.put("stream", stream);
    if (stream) {
      root.putObject("stream_options").put("include_usage", true);
    }
    root.put("grounding", grounding);
    root.put("max_tokens", 128);
    return root;
  }

  private static void setImageUrl(ObjectNode request, String url) {
    ((ObjectNode) request.at("/messages/0/content/1/image_url")).put("url", url);
  }

  private HttpRequest.Builder chat(ObjectNode body) {
    return chat(stack, body);
  }

  private HttpRequest.Builder chat(LocalStack target, ObjectNode body) {
    return HttpRequest.newBuilder(URI.create(target.gatewayUrl() + "/v1/chat/completions"))
        .timeout(REQUEST_TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
  }

  private HttpResponse<String> post(ObjectNode body) throws Exception {
    return http.send(chat(body).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** What a streamed answer held. */
  private static final class Streamed {
    final StringBuilder textBuilder = new StringBuilder();
    String text = "";
    int contentChunks;
    final List<JsonNode> boxes = new ArrayList<>();
  }

  /** Streams a question and checks the transcript's frame: role first, [DONE] last. */
  private Streamed stream(
      LocalStack target, Shape shape, String question, boolean grounding, String label)
      throws Exception {
    ObjectNode body = request(shape, image(shape), question, grounding, true);
    long start = System.nanoTime();
    HttpResponse<Stream<String>> response =
        http.send(chat(target, body).build(), HttpResponse.BodyHandlers.ofLines());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream");
    Streamed answer = new Streamed();
    long firstContent = -1;
    long done = -1;
    List<String> events = new ArrayList<>();
    try (Stream<String> lines = response.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (line.isEmpty()) {
          continue;
        }
        events.add(line);
        assertThat(line).startsWith("data: ");
        String data = line.substring("data: ".length());
        if (data.equals("[DONE]")) {
          done = System.nanoTime();
          List<String> after = new ArrayList<>();
          it.forEachRemaining(after::add);
          assertThat(after).as("lines after [DONE]").allMatch(String::isEmpty);
          break;
        }
        JsonNode chunk = json.readTree(data);
        assertThat(chunk.has("error")).as("error event: %s", data).isFalse();
        JsonNode delta = chunk.at("/choices/0/delta");
        JsonNode content = delta.get("content");
        if (content != null && !content.stringValue().isEmpty()) {
          if (firstContent < 0) {
            firstContent = System.nanoTime();
          }
          answer.contentChunks++;
          answer.textBuilder.append(content.stringValue());
        }
        for (JsonNode box : delta.path("boxes")) {
          answer.boxes.add(box);
        }
      }
    }
    answer.text = answer.textBuilder.toString();
    assertThat(events).as("SSE transcript").isNotEmpty();
    assertThat(json.readTree(events.get(0).substring(6)).at("/choices/0/delta/role").stringValue())
        .isEqualTo("assistant");
    assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
    assertThat(done).as("[DONE] received").isPositive();
    String latency =
        String.format(
            Locale.ROOT,
            "%-28s first content %6d ms   done %6d ms   (%d content chunks, %d boxes)",
            label,
            firstContent < 0 ? -1 : (firstContent - start) / 1_000_000,
            (done - start) / 1_000_000,
            answer.contentChunks,
            answer.boxes.size());
    latencies.add(latency);
    log.info("{} -> {}", latency, answer.text);
    return answer;
  }
}

package ai.ferretstream.fusion.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.fusion.FusionApplication;
import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.fusion.TopicReader;
import ai.ferretstream.fusion.domain.FeatureMaps;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.fusion.domain.UpsampleMode;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.FakeRegionSampler;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.kafka.test.utils.ContainerTestUtils;

@SpringBootTest(
    classes = {FusionApplication.class, FusionIT.FakeInference.class},
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.config.name=fusion-service",
      "spring.kafka.bootstrap-servers=${spring.embedded.kafka.brokers}",
      "ferret.fusion.idle-commit-interval=200ms",
      "ferret.fusion.sweep-interval=100ms",
      "ferret.kafka.retries=1",
      "ferret.kafka.retry-backoff=50ms"
    })
@EmbeddedKafka(brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS)
class FusionIT {

  private static final int PATCHES = 24;
  private static final int CHANNELS = 8;

  @TestConfiguration
  static class FakeInference {
    static final String NAME = InProcessServerBuilder.generateName();

    @Bean
    FakeRegionSampler fakeRegionSampler() {
      return new FakeRegionSampler();
    }

    @Bean(destroyMethod = "shutdownNow")
    Server fakeInferenceServer(FakeRegionSampler fake) throws IOException {
      return InProcessServerBuilder.forName(NAME)
          .addService(ServerInterceptors.intercept(fake, FakeRegionSampler.requestIdCapture()))
          .build()
          .start();
    }

    @Bean(destroyMethod = "shutdownNow")
    @Primary
    ManagedChannel inProcessChannel(Server fakeInferenceServer) {
      return InProcessChannelBuilder.forName(NAME).build();
    }
  }

  @Autowired private KafkaTemplate<String, Object> template;
  @Autowired private TopicCatalog catalog;
  @Autowired private FakeRegionSampler fake;
  @Autowired private EmbeddedKafkaBroker broker;
  @Autowired private JoinBook book;
  @Autowired private CancelledRequests cancelled;
  @Autowired private KafkaListenerEndpointRegistry registry;
  @Autowired private MeterRegistry meters;

  private static TopicReader reader;

  @AfterAll
  static void closeReader() {
    if (reader != null) {
      reader.close();
    }
  }

  private TopicReader reader() {
    if (reader == null) {
      reader =
          new TopicReader(
              broker.getBrokersAsString(), catalog.fused(), catalog.answers(), catalog.features());
    }
    return reader;
  }

  /**
   * Publishes a feature record as an encoder does: the record, then once the broker has it, its
   * notice, which is what fusion consumes. Returns where the notice lies.
   */
  private RecordMetadata send(TileFeatures f) throws Exception {
    RecordMetadata stored = publish(catalog.features(), f);
    return notice(f, FeatureRecords.ref(f, stored.topic(), stored.partition(), stored.offset()));
  }

  private RecordMetadata notice(TileFeatures f, FeatureRef storedAt) throws Exception {
    return publish(catalog.featureNotices(), FeatureRecords.notice(f, storedAt));
  }

  private RecordMetadata publish(String topic, TileFeatures f) throws Exception {
    return template
        .send(new ProducerRecord<>(topic, f.getContext().getRequestId(), f))
        .get(10, TimeUnit.SECONDS)
        .getRecordMetadata();
  }

  private FusedContext awaitFused(String requestId) {
    List<FusedContext> fused =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> parse(reader().of(catalog.fused(), requestId)), l -> !l.isEmpty());
    return fused.get(0);
  }

  private AnswerEvent awaitAnswer(String requestId) {
    return await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> answers(requestId), l -> !l.isEmpty())
        .get(0);
  }

  private List<AnswerEvent> answers(String requestId) {
    return reader().of(catalog.answers(), requestId).stream()
        .map(
            r -> {
              try {
                return AnswerEvent.parseFrom(r.value());
              } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException(e);
              }
            })
        .toList();
  }

  private static List<FusedContext> parse(
      List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> records) {
    return records.stream()
        .map(
            r -> {
              try {
                return FusedContext.parseFrom(r.value());
              } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException(e);
              }
            })
        .toList();
  }

  @Test
  void interleavedRequestsAreJoinedIntoOneFusedContextEach() throws Exception {
    GridLayout wide = TestFeatures.layout(2, 1, 640, 320);
    GridLayout tall = TestFeatures.layout(1, 2, 300, 600);
    RequestContext a =
        TestFeatures.context("it-a", System.currentTimeMillis() + 120_000).toBuilder()
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(100).setY1(50).setX2(299).setY2(149)))
            .build();
    RequestContext b = TestFeatures.context("it-b", 0);
    send(TestFeatures.global(a, wide, PATCHES, CHANNELS));
    send(TestFeatures.local(b, tall, 1, PATCHES, CHANNELS));
    send(TestFeatures.local(a, wide, 1, PATCHES, CHANNELS));
    send(TestFeatures.global(b, tall, PATCHES, CHANNELS));
    send(TestFeatures.local(a, wide, 0, PATCHES, CHANNELS));
    send(TestFeatures.local(a, wide, 0, PATCHES, CHANNELS)); // duplicate
    send(TestFeatures.local(b, tall, 0, PATCHES, CHANNELS));

    FusedContext fa = awaitFused("it-a");
    FusedContext fb = awaitFused("it-b");

    // by reference: the fused contexts name the feature records, which hold the tokens
    byte[] tokensA = tokens(fa);
    assertTokenLayout(fa, tokensA, 1, 2);
    assertTokenLayout(fb, tokens(fb), 2, 1);
    assertThat(fa.getFeatureRefsList())
        .extracting(FeatureRef::getKind, FeatureRef::getIndex)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(TileKind.TILE_KIND_GLOBAL, 0),
            org.assertj.core.groups.Tuple.tuple(TileKind.TILE_KIND_LOCAL, 0),
            org.assertj.core.groups.Tuple.tuple(TileKind.TILE_KIND_LOCAL, 1));
    assertThat(fb.getRegionCount()).isZero();
    assertThat(fa.getContext().getTimingsMap()).containsKey("fusion.done");

    // region embedding: exactly what the fake answered for A's one region
    assertThat(fa.getRegionCount()).isEqualTo(1);
    assertThat(fa.getRegionChannels()).isEqualTo(FakeRegionSampler.CHANNELS);
    List<FakeRegionSampler.Call> calls =
        fake.calls().stream().filter(c -> c.request().getId().equals("it-a")).toList();
    assertThat(calls).hasSize(1);
    ModelInferRequest request = calls.get(0).request();
    assertThat(calls.get(0).requestIdHeader()).isEqualTo("it-a");
    assertThat(request.getInputs(0).getShapeList()).containsExactly(1L, 24L, 48L, 8L);
    assertThat(request.getRawInputContents(0).toByteArray())
        .isEqualTo(
            FeatureMaps.fusedMapFp16(
                tokensA, 0, 24, 24, 576 * CHANNELS * 2, 24, 48, CHANNELS, UpsampleMode.NEAREST));
    float[] embedding = TensorCodec.fp16ToFloats(fa.getRegionEmbeddingsFp16().toByteArray());
    assertThat(fa.getRegionEmbeddingsFp16().toByteArray())
        .isEqualTo(TensorCodec.floatsToFp16(FakeRegionSampler.embedding(request)));
    assertThat(embedding[0] * 640).isBetween(100f, 299f); // mean x of points inside the box
    assertThat(embedding[1] * 320).isBetween(50f, 149f);
    // the FPS start index drawn from the region's seed, as the region sampler's fps_start
    assertThat(embedding[4])
        .isEqualTo(
            (float)
                ai.ferretstream.fusion.domain.PointSampler.fpsStart(
                    ai.ferretstream.fusion.domain.PointSampler.seed("it-a", 0)));
    assertThat(answers("it-a")).isEmpty();
    assertThat(answers("it-b")).isEmpty();
  }

  /** The image tokens laid out from the feature records {@code fused} names, read back. */
  private byte[] tokens(FusedContext fused) throws Exception {
    assertThat(fused.getImageTokensFp16().isEmpty()).isTrue();
    List<RecordFetcher.Location> at = new java.util.ArrayList<>();
    for (FeatureRef r : fused.getFeatureRefsList()) {
      assertThat(r.getTopic()).isEqualTo(catalog.features());
      at.add(new RecordFetcher.Location(r.getTopic(), r.getPartition(), r.getOffset()));
    }
    try (RecordFetcher fetcher =
        new RecordFetcher(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()),
            "fusion-it",
            1,
            Duration.ofSeconds(30),
            "features")) {
      List<com.google.protobuf.MessageLite> values = fetcher.fetch(at);
      TileFeatures global = (TileFeatures) values.get(0);
      List<ByteString> locals = new java.util.ArrayList<>();
      for (int k = 1; k < values.size(); k++) {
        TileFeatures local = (TileFeatures) values.get(k);
        assertThat(local.getContext().getRequestId()).isEqualTo(fused.getContext().getRequestId());
        assertThat(local.getIndex()).isEqualTo(k - 1);
        locals.add(local.getFeaturesFp16());
      }
      GridLayout layout = fused.getLayout();
      return ImageTokens.of(
          global.getFeaturesFp16(),
          locals,
          layout.getRows(),
          layout.getCols(),
          PATCHES,
          PATCHES,
          CHANNELS);
    }
  }

  private static void assertTokenLayout(FusedContext fused, byte[] tokens, int rows, int cols) {
    assertThat(fused.getGlobalTokens()).isEqualTo(576);
    assertThat(fused.getChannels()).isEqualTo(CHANNELS);
    assertThat(fused.getLocalTokenRows()).isEqualTo(rows * 24);
    assertThat(fused.getLocalTokenCols()).isEqualTo(cols * 24);
    float[] t = TensorCodec.fp16ToFloats(tokens);
    assertThat(t).hasSize((576 + rows * cols * 576) * CHANNELS);
    for (int r = 0; r < 24; r++) {
      for (int c = 0; c < 24; c++) {
        assertThat(t[(r * 24 + c) * CHANNELS + 5]).isEqualTo(TestFeatures.globalValue(r, c, 5));
      }
    }
    int w = cols * 24;
    for (int y = 0; y < rows * 24; y++) {
      for (int x = 0; x < w; x++) {
        int k = (y / 24) * cols + x / 24;
        for (int ch = 0; ch < CHANNELS; ch++) {
          assertThat(t[(576 + y * w + x) * CHANNELS + ch])
              .isEqualTo(TestFeatures.localValue(k, y % 24, x % 24, ch));
        }
      }
    }
  }

  @Test
  void expiredAndMalformedRequestsGetErrorEventsInsteadOfFusedContexts() throws Exception {
    GridLayout one = TestFeatures.layout(1, 1, 336, 336);
    RequestContext expired = TestFeatures.context("it-expired", System.currentTimeMillis() - 1);
    RecordMetadata first = send(TestFeatures.global(expired, one, PATCHES, CHANNELS));
    RequestContext bad = TestFeatures.context("it-bad", 0);
    RecordMetadata second =
        send(
            TestFeatures.local(bad, one, 0, PATCHES, CHANNELS).toBuilder()
                .setFeaturesFp16(ByteString.copyFrom(new byte[10]))
                .build());

    AnswerEvent deadline = awaitAnswer("it-expired");
    assertThat(deadline.getError().getCode()).isEqualTo("deadline_exceeded");
    assertThat(deadline.getError().getStage()).isEqualTo("fusion-service");
    AnswerEvent invalid = awaitAnswer("it-bad");
    assertThat(invalid.getError().getCode()).isEqualTo("invalid_features");
    assertThat(reader().of(catalog.fused(), "it-expired")).isEmpty();
    assertThat(reader().of(catalog.fused(), "it-bad")).isEmpty();

    // neither record holds its partition back: both are committed (the dead-lettered one while
    // the listener is idle)
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()))) {
      for (RecordMetadata m : List.of(first, second)) {
        TopicPartition partition = new TopicPartition(m.topic(), m.partition());
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> committed(admin, partition), o -> o != null && o > m.offset());
      }
    }
  }

  @Test
  void aRegionRequestWhoseNamedMapIsGoneGetsFeaturesExpired() throws Exception {
    GridLayout one = TestFeatures.layout(1, 1, 336, 336);
    RequestContext gone =
        TestFeatures.context("it-gone", 0).toBuilder()
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(10).setY1(10).setX2(200).setY2(200)))
            .build();
    send(TestFeatures.global(gone, one, PATCHES, CHANNELS));
    TileFeatures local = TestFeatures.local(gone, one, 0, PATCHES, CHANNELS);
    // a location past the end of the log: never written (or deleted by retention)
    notice(local, FeatureRecords.ref(local, catalog.features(), 0, 1_000_000));

    AnswerEvent expired = awaitAnswer("it-gone");
    assertThat(expired.getError().getCode()).isEqualTo("features_expired");
    assertThat(expired.getError().getStage()).isEqualTo("fusion-service");
    assertThat(reader().of(catalog.fused(), "it-gone")).isEmpty();
  }

  @Test
  void offsetsAreCommittedOnlyBelowTheOldestUnfinishedRequest() throws Exception {
    GridLayout one = TestFeatures.layout(1, 1, 336, 336);
    RequestContext waiting = TestFeatures.context("it-waiting", 0);
    RecordMetadata held = send(TestFeatures.global(waiting, one, PATCHES, CHANNELS));
    TopicPartition partition = new TopicPartition(held.topic(), held.partition());
    String otherId = sameId(partition.partition());
    RequestContext other = TestFeatures.context(otherId, 0);
    send(TestFeatures.global(other, one, PATCHES, CHANNELS));
    RecordMetadata last = send(TestFeatures.local(other, one, 0, PATCHES, CHANNELS));
    assertThat(last.partition()).isEqualTo(partition.partition());
    awaitFused(otherId);

    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()))) {
      // the later request finished, but the commit stays at the waiting request's record
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed(admin, partition), o -> o != null && o == held.offset());
      assertThat(book.openJoins()).isGreaterThanOrEqualTo(1);

      RecordMetadata done = send(TestFeatures.local(waiting, one, 0, PATCHES, CHANNELS));
      awaitFused("it-waiting");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed(admin, partition), o -> o != null && o == done.offset() + 1);
      long end =
          admin
              .listOffsets(Map.of(partition, OffsetSpec.latest()))
              .all()
              .get()
              .get(partition)
              .offset();
      assertThat(end).isEqualTo(done.offset() + 1);
    }
  }

  @Test
  void aCancelledRequestsJoinIsDroppedAndItsLaterFeaturesAreNotFused() throws Exception {
    ContainerTestUtils.waitForAssignment(
        registry.getListenerContainer("fusion-service-control"),
        template.partitionsFor(catalog.control()).size());
    GridLayout one = TestFeatures.layout(1, 1, 336, 336);
    Region box =
        Region.newBuilder()
            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
            .setBox(Box.newBuilder().setX1(10).setY1(10).setX2(200).setY2(200))
            .build();
    // a join waiting for its local map, with a request after it on the same partition
    RequestContext pending =
        TestFeatures.context("it-pending", 0).toBuilder().addRegions(box).build();
    RecordMetadata held = send(TestFeatures.global(pending, one, PATCHES, CHANNELS));
    TopicPartition partition = new TopicPartition(held.topic(), held.partition());
    RequestContext before = TestFeatures.context(sameId(partition.partition(), "it-before-"), 0);
    send(TestFeatures.global(before, one, PATCHES, CHANNELS));
    send(TestFeatures.local(before, one, 0, PATCHES, CHANNELS));
    awaitFused(before.getRequestId());
    RequestContext later =
        TestFeatures.context(sameId(partition.partition(), "it-later-"), 0).toBuilder()
            .addRegions(box)
            .build();
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()))) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed(admin, partition), o -> o != null && o == held.offset());

      // cancelled: the pending join and one not yet begun
      for (RequestContext c : List.of(pending, later)) {
        template
            .send(
                catalog.control(),
                c.getRequestId(),
                Cancel.newBuilder().setRequestId(c.getRequestId()).build())
            .get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(30)).until(() -> cancelled.contains(c.getRequestId()));
      }
      // the pending join's state is freed: its record no longer holds the partition back
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> committed(admin, partition), o -> o != null && o > held.offset());
    }
    send(TestFeatures.local(pending, one, 0, PATCHES, CHANNELS));
    send(TestFeatures.global(later, one, PATCHES, CHANNELS));
    send(TestFeatures.local(later, one, 0, PATCHES, CHANNELS));
    RequestContext after = TestFeatures.context(sameId(partition.partition(), "it-after-"), 0);
    send(TestFeatures.global(after, one, PATCHES, CHANNELS));
    send(TestFeatures.local(after, one, 0, PATCHES, CHANNELS));

    // the request after them on the same partition is fused: they were passed over before it
    awaitFused(after.getRequestId());
    for (RequestContext c : List.of(pending, later)) {
      String id = c.getRequestId();
      assertThat(reader().of(catalog.fused(), id)).as(id).isEmpty();
      assertThat(answers(id)).as(id).isEmpty();
      assertThat(fake.calls()).noneMatch(call -> call.request().getId().equals(id));
    }
    assertThat(meters.get("ferret.fusion.cancelled").counter().count()).isEqualTo(3.0);
  }

  /** A request id whose records land on {@code partition} of the notices topic. */
  private String sameId(int partition) {
    return sameId(partition, "it-other-");
  }

  /** A request id starting {@code prefix} whose records land on {@code partition}. */
  private String sameId(int partition, String prefix) {
    int partitions = template.partitionsFor(catalog.featureNotices()).size();
    for (int i = 0; ; i++) {
      String id = prefix + i;
      int p =
          org.apache.kafka.common.utils.Utils.toPositive(
                  org.apache.kafka.common.utils.Utils.murmur2(
                      id.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
              % partitions;
      if (p == partition) {
        return id;
      }
    }
  }

  private Long committed(Admin admin, TopicPartition partition) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin.listConsumerGroupOffsets("fusion").partitionsToOffsetAndMetadata().get();
    OffsetAndMetadata o = offsets.get(partition);
    return o == null ? null : o.offset();
  }
}

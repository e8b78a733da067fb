package ai.ferretstream.llm.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.llm.LlmApplication;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.FakeLlm;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
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
    classes = {LlmApplication.class, LlmIT.FakeInference.class},
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.config.name=llm-service",
      "spring.kafka.bootstrap-servers=${spring.embedded.kafka.brokers}",
      "ferret.kafka.retries=0",
      "ferret.features.shared-memory.enabled=true",
      "ferret.features.shared-memory.directory=target/llm-it-feature-store"
    })
@EmbeddedKafka(brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS)
class LlmIT {

  private static final int CHANNELS = 8;
  private static final GridLayout LAYOUT =
      GridLayout.newBuilder().setCols(2).setRows(1).setImageWidth(640).setImageHeight(480).build();

  @TestConfiguration
  static class FakeInference {
    static final String NAME = InProcessServerBuilder.generateName();

    @Bean(destroyMethod = "shutdown")
    FakeLlm fakeLlm() {
      return new FakeLlm();
    }

    @Bean(destroyMethod = "shutdownNow")
    Server fakeInferenceServer(FakeLlm fake) throws IOException {
      return InProcessServerBuilder.forName(NAME)
          .addService(ServerInterceptors.intercept(fake, FakeLlm.requestIdCapture()))
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
  @Autowired private FakeLlm fake;
  @Autowired private EmbeddedKafkaBroker broker;
  @Autowired private KafkaListenerEndpointRegistry registry;
  @Autowired private SharedFeatureStore sharedStore;
  @Autowired private ai.ferretstream.boot.kafka.CancelledRequests cancelled;

  private static KafkaConsumer<String, byte[]> answers;
  private static final List<AnswerEvent> received = new ArrayList<>();

  @BeforeEach
  void openAnswers() {
    if (answers == null) {
      answers =
          new KafkaConsumer<>(
              Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()),
              new StringDeserializer(),
              new ByteArrayDeserializer());
      List<TopicPartition> partitions =
          answers.partitionsFor(catalog.answers()).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      answers.assign(partitions);
      answers.seekToBeginning(partitions);
    }
  }

  @AfterAll
  static void close() {
    if (answers != null) {
      answers.close();
    }
  }

  private List<AnswerEvent> eventsOf(String requestId) {
    answers
        .poll(Duration.ofMillis(200))
        .forEach(
            r -> {
              try {
                received.add(AnswerEvent.parseFrom(r.value()));
              } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException(e);
              }
            });
    return received.stream().filter(e -> e.getRequestId().equals(requestId)).toList();
  }

  private List<AnswerEvent> awaitEnd(String requestId) {
    return await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> eventsOf(requestId),
            events -> events.stream().anyMatch(e -> e.hasDone() || e.hasError()));
  }

  private void publish(String requestId, String prompt, long deadline) throws Exception {
    RequestContext context =
        RequestContext.newBuilder()
            .setRequestId(requestId)
            .setPrompt(prompt)
            .setGrounding(true)
            .setDeadlineUnixMs(deadline)
            .setModel("ferret-v2-dev")
            .putTimings("gateway.accepted", 1L)
            .build();
    int tokens = 576 + 24 * 48;
    FusedContext fused =
        FusedContext.newBuilder()
            .setContext(context)
            .setLayout(LAYOUT)
            .setChannels(CHANNELS)
            .setGlobalTokens(576)
            .setLocalTokenRows(24)
            .setLocalTokenCols(48)
            .setImageTokensFp16(ByteString.copyFrom(new byte[tokens * CHANNELS * 2]))
            .build();
    template
        .send(new ProducerRecord<>(catalog.fused(), requestId, fused))
        .get(10, TimeUnit.SECONDS);
  }

  @org.springframework.beans.factory.annotation.Autowired
  private io.micrometer.core.instrument.MeterRegistry meters;

  /** Publishes a feature record and returns where it landed. */
  private FeatureRef feature(
      String requestId, TileKind kind, int index, int patchesRows, int patchesCols, float base)
      throws Exception {
    TileFeatures f = featureRecord(requestId, kind, index, patchesRows, patchesCols, base);
    RecordMetadata m =
        template
            .send(new ProducerRecord<>(catalog.features(), requestId, f))
            .get(10, TimeUnit.SECONDS)
            .getRecordMetadata();
    return FeatureRef.newBuilder()
        .setKind(kind)
        .setIndex(index)
        .setTopic(m.topic())
        .setPartition(m.partition())
        .setOffset(m.offset())
        .build();
  }

  /** A feature record whose values start at {@code base}. */
  private static TileFeatures featureRecord(
      String requestId, TileKind kind, int index, int patchesRows, int patchesCols, float base) {
    float[] values = new float[patchesRows * patchesCols * CHANNELS];
    for (int i = 0; i < values.length; i++) {
      values[i] = base + (i % 97) / 128f;
    }
    return TileFeatures.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(requestId))
        .setKind(kind)
        .setIndex(index)
        .setLocalCount(2)
        .setLayout(LAYOUT)
        .setPatchRows(patchesRows)
        .setPatchCols(patchesCols)
        .setChannels(CHANNELS)
        .setFeaturesFp16(ByteString.copyFrom(TensorCodec.floatsToFp16(values)))
        .build();
  }

  private void publishByReference(String requestId, List<FeatureRef> refs) throws Exception {
    RequestContext context =
        RequestContext.newBuilder()
            .setRequestId(requestId)
            .setPrompt("Where is the red square?")
            .setGrounding(true)
            .setDeadlineUnixMs(System.currentTimeMillis() + 60_000)
            .build();
    FusedContext fused =
        FusedContext.newBuilder()
            .setContext(context)
            .setLayout(LAYOUT)
            .setChannels(CHANNELS)
            .setGlobalTokens(576)
            .setLocalTokenRows(24)
            .setLocalTokenCols(48)
            .addAllFeatureRefs(refs)
            .build();
    template
        .send(new ProducerRecord<>(catalog.fused(), requestId, fused))
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void imageTokensSentByReferenceAreReadBackAndLaidOutForTheModel() throws Exception {
    FeatureRef global = feature("llm-ref", TileKind.TILE_KIND_GLOBAL, 0, 24, 24, 0f);
    feature("llm-ref-other", TileKind.TILE_KIND_GLOBAL, 0, 24, 24, 5f); // in between
    FeatureRef left = feature("llm-ref", TileKind.TILE_KIND_LOCAL, 0, 24, 24, 1f);
    FeatureRef right = feature("llm-ref", TileKind.TILE_KIND_LOCAL, 1, 24, 24, 2f);
    publishByReference("llm-ref", List.of(global, left, right));

    List<AnswerEvent> events = awaitEnd("llm-ref");
    assertThat(events.get(events.size() - 1).hasDone()).isTrue();
    assertThat(events.get(events.size() - 1).getDone().getTimingsMap())
        .containsKey("llm.tokens_read");
    FakeLlm.Call call =
        fake.calls().stream().filter(c -> c.request().getId().equals("llm-ref")).findFirst().get();
    byte[] sent = call.request().getRawInputContents(1).toByteArray();
    float[] t = TensorCodec.fp16ToFloats(sent);
    assertThat(t).hasSize((576 + 24 * 48) * CHANNELS);
    // token 0 is the global map's first; the merged map's row 0 is the left tile's row 0 followed
    // by the right tile's row 0
    int merged = 576 * CHANNELS;
    assertThat(t[0]).isEqualTo(0f);
    assertThat(t[merged]).isEqualTo(1f);
    assertThat(t[merged + 24 * CHANNELS]).isEqualTo(2f);
    assertThat(t[merged + 48 * CHANNELS])
        .isEqualTo(
            TensorCodec.fp16ToFloats(
                TensorCodec.floatsToFp16(new float[] {1f + (24 * CHANNELS % 97) / 128f}))[0]);
  }

  @Test
  void imageTokensInSharedMemoryFilesAreReadAndTheFilesRemovedOnceAnswered() throws Exception {
    // the global map in Kafka, the local maps in the shared-memory store (a store that was full
    // for the global map's turn): one request's references may name both
    FeatureRef global = feature("llm-shm", TileKind.TILE_KIND_GLOBAL, 0, 24, 24, 0f);
    FeatureRef left =
        sharedStore.write(featureRecord("llm-shm", TileKind.TILE_KIND_LOCAL, 0, 24, 24, 1f));
    FeatureRef right =
        sharedStore.write(featureRecord("llm-shm", TileKind.TILE_KIND_LOCAL, 1, 24, 24, 2f));
    Path leftFile = sharedStore.directory().resolve(left.getSharedFile());
    assertThat(leftFile).exists();
    publishByReference("llm-shm", List.of(global, left, right));

    List<AnswerEvent> events = awaitEnd("llm-shm");
    assertThat(events.get(events.size() - 1).hasDone()).isTrue();
    FakeLlm.Call call =
        fake.calls().stream().filter(c -> c.request().getId().equals("llm-shm")).findFirst().get();
    float[] t = TensorCodec.fp16ToFloats(call.request().getRawInputContents(1).toByteArray());
    int merged = 576 * CHANNELS;
    assertThat(t[0]).isEqualTo(0f);
    assertThat(t[merged]).isEqualTo(1f);
    assertThat(t[merged + 24 * CHANNELS]).isEqualTo(2f);
    // answered: nothing reads the maps again
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(leftFile).doesNotExist();
              assertThat(sharedStore.directory().resolve(right.getSharedFile())).doesNotExist();
            });
  }

  @Test
  void aRequestThatExpiredBeforeGenerationHasItsTileFilesRemoved() throws Exception {
    // the tiles the tiler wrote for it (ADR 0012): global and each local tile of the grid
    List<Path> tiles = new java.util.ArrayList<>();
    int locals = LAYOUT.getCols() * LAYOUT.getRows();
    for (int k = -1; k < locals; k++) {
      TileKind kind = k < 0 ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL;
      String file =
          sharedStore.writeTile(
              "llm-late", kind, Math.max(k, 0), java.nio.ByteBuffer.wrap(new byte[] {1, 2}));
      tiles.add(sharedStore.directory().resolve(file));
    }
    assertThat(tiles).allMatch(java.nio.file.Files::exists);

    publish("llm-late", "where?", System.currentTimeMillis() - 1_000);

    List<AnswerEvent> events = awaitEnd("llm-late");
    assertThat(events.get(events.size() - 1).getError().getCode()).isEqualTo("deadline_exceeded");
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(tiles).noneMatch(java.nio.file.Files::exists));
  }

  @Test
  void aReferenceToAMissingFeatureRecordEndsInAClearError() throws Exception {
    FeatureRef global = feature("llm-gone", TileKind.TILE_KIND_GLOBAL, 0, 24, 24, 0f);
    FeatureRef left = feature("llm-gone", TileKind.TILE_KIND_LOCAL, 0, 24, 24, 1f);
    FeatureRef missing =
        left.toBuilder().setIndex(1).setOffset(left.getOffset() + 1_000_000).build();
    publishByReference("llm-gone", List.of(global, left, missing));

    List<AnswerEvent> events = awaitEnd("llm-gone");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getError().getCode()).isEqualTo("features_expired");
    assertThat(events.get(0).getError().getRetryable()).isFalse();
  }

  @Test
  void generationsRunConcurrentlyBeyondThePartitionCount() throws Exception {
    int partitions = template.partitionsFor(catalog.fused()).size();
    int streams = 32;
    assertThat(streams).isGreaterThan(partitions * 4);
    long deadline = System.currentTimeMillis() + 60_000;
    for (int i = 0; i < streams; i++) {
      publish("llm-paced-" + i, "paced please", deadline);
    }
    for (int i = 0; i < streams; i++) {
      List<AnswerEvent> events = awaitEnd("llm-paced-" + i);
      assertThat(events.get(events.size() - 1).getDone().getFinishReason()).isEqualTo("stop");
    }
    // the streams overlapped far beyond one per partition: generations are not pinned to them
    assertThat(fake.maxConcurrentPacedStreams()).isGreaterThan(partitions * 4);
  }

  @Test
  void answerStreamsAsOrderedDeltasThenTheBoxThenDone() throws Exception {
    publish("llm-ok", "Where is the red square?", System.currentTimeMillis() + 60_000);
    List<AnswerEvent> events = awaitEnd("llm-ok");

    assertThat(events).extracting(AnswerEvent::getSeq).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("The red square is");
    assertThat(events.get(1).getDelta().getText()).isEqualTo(" at [100, 200");
    assertThat(events.get(2).getDelta().getText()).isEqualTo(", 300, 400]");
    assertThat(events.get(3).hasBox()).isTrue();
    assertThat(events.get(3).getBox().getPhrase()).isEqualTo("red square");
    assertThat(events.get(3).getBox().getBoxPixels().getX1()).isEqualTo(64); // 100 * 640 / 1000
    assertThat(events.get(3).getBox().getBoxPixels().getY2()).isEqualTo(192); // 400 * 480 / 1000
    assertThat(events.get(4).getDelta().getText()).isEqualTo(".");
    AnswerEvent done = events.get(5);
    assertThat(done.getDone().getFinishReason()).isEqualTo("stop");
    assertThat(done.getDone().getModel()).isEqualTo("ferret-v2-dev");
    assertThat(done.getDone().getUsage().getCompletionTokens()).isEqualTo(FakeLlm.ANSWER.size());
    assertThat(done.getDone().getUsage().getImageTokens()).isEqualTo(576 + 24 * 48);
    assertThat(done.getDone().getTimingsMap())
        .containsKeys("gateway.accepted", "llm.first_token", "llm.done");

    FakeLlm.Call call =
        fake.calls().stream().filter(c -> c.request().getId().equals("llm-ok")).findFirst().get();
    assertThat(call.requestIdHeader()).isEqualTo("llm-ok");
    assertThat(FakeLlm.prompt(call.request()))
        .endsWith(
            "  USER: <image>\nWhere is the red square? Include the coordinates for each"
                + " mentioned object. ASSISTANT:");
    assertThat(call.request().getInputs(1).getShapeList()).containsExactly(576L + 24 * 48, 8L);
  }

  @Test
  void aReplayedFusedContextIsAnsweredOnlyOnce() throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    publish("llm-twice", "Where is the red square?", deadline);
    awaitEnd("llm-twice");
    publish("llm-twice", "Where is the red square?", deadline); // fusion replayed it after a crash
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> meters.get("ferret.llm.duplicates").counter().count() >= 1);

    assertThat(eventsOf("llm-twice")).filteredOn(AnswerEvent::hasDone).hasSize(1);
    assertThat(fake.calls()).filteredOn(c -> c.request().getId().equals("llm-twice")).hasSize(1);
  }

  @Test
  void modelErrorBeforeAnyTextBecomesAnErrorEvent() throws Exception {
    publish("llm-fail-early", "fail-early please", System.currentTimeMillis() + 60_000);
    List<AnswerEvent> events = awaitEnd("llm-fail-early");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getError().getCode()).isEqualTo("inference_rejected");
    assertThat(events.get(0).getError().getStage()).isEqualTo("llm-service");
    assertThat(events.get(0).getError().getMessage()).contains("model exploded");
  }

  @Test
  void aConversationBeyondTheContextIsRefusedWithoutCallingTheModel() throws Exception {
    List<Path> tiles = new java.util.ArrayList<>();
    for (int k = 0; k < LAYOUT.getCols() * LAYOUT.getRows(); k++) {
      String file =
          sharedStore.writeTile(
              "llm-too-long",
              TileKind.TILE_KIND_LOCAL,
              k,
              java.nio.ByteBuffer.wrap(new byte[] {1, 2}));
      tiles.add(sharedStore.directory().resolve(file));
    }
    // 576 + 24 * 48 = 1728 image tokens + 7000 words > the default 8192-token context
    publish("llm-too-long", "a ".repeat(7000), System.currentTimeMillis() + 60_000);
    List<AnswerEvent> events = awaitEnd("llm-too-long");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getError().getCode()).isEqualTo("context_length_exceeded");
    assertThat(events.get(0).getError().getRetryable()).isFalse();
    assertThat(events.get(0).getError().getMessage())
        .contains("the conversation needs ")
        .contains("(1728 image tokens, 0 regions, ")
        .contains("but the model's context is 8192 tokens");
    assertThat(fake.calls()).noneMatch(c -> c.request().getId().equals("llm-too-long"));
    // refused for good: its tiles are not kept for a retry
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(tiles).noneMatch(java.nio.file.Files::exists));
  }

  @Test
  void modelErrorAfterTextEndsTheStreamWithAnErrorEvent() throws Exception {
    publish("llm-fail-late", "fail-late please", System.currentTimeMillis() + 60_000);
    List<AnswerEvent> events = awaitEnd("llm-fail-late");
    assertThat(events).extracting(AnswerEvent::getSeq).containsExactly(0L, 1L);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("w0 w1 w2 w3 ");
    assertThat(events.get(1).getError().getMessage()).contains("out of memory");
  }

  @Test
  void cancelStopsASlowStreamAndEndsItAsCancelled() throws Exception {
    ContainerTestUtils.waitForAssignment(
        registry.getListenerContainer("llm-service-control"),
        template.partitionsFor(catalog.control()).size());
    publish("llm-slow", "slow please", System.currentTimeMillis() + 60_000);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> eventsOf("llm-slow"), events -> !events.isEmpty());
    template
        .send(
            new ProducerRecord<>(
                catalog.control(),
                "llm-slow",
                Cancel.newBuilder().setRequestId("llm-slow").setReason("client left").build()))
        .get(10, TimeUnit.SECONDS);

    List<AnswerEvent> events = awaitEnd("llm-slow");
    AnswerEvent last = events.get(events.size() - 1);
    assertThat(last.getDone().getFinishReason()).isEqualTo("cancelled");
    assertThat(events)
        .extracting(AnswerEvent::getSeq)
        .isEqualTo(java.util.stream.LongStream.range(0, events.size()).boxed().toList());
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.cancelled().contains("llm-slow"));
  }

  @Test
  void aRequestCancelledBeforeItsFusedContextIsNotGenerated() throws Exception {
    ContainerTestUtils.waitForAssignment(
        registry.getListenerContainer("llm-service-control"),
        template.partitionsFor(catalog.control()).size());
    template
        .send(
            new ProducerRecord<>(
                catalog.control(),
                "llm-early-cancel",
                Cancel.newBuilder().setRequestId("llm-early-cancel").build()))
        .get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(30)).until(() -> cancelled.contains("llm-early-cancel"));

    publish("llm-early-cancel", "slow please", System.currentTimeMillis() + 60_000);
    List<AnswerEvent> events = awaitEnd("llm-early-cancel");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getDone().getFinishReason()).isEqualTo("cancelled");
    assertThat(fake.calls())
        .noneSatisfy(c -> assertThat(c.request().getId()).isEqualTo("llm-early-cancel"));
  }

  @Test
  void deadlineEndsASlowStreamWithADeadlineError() throws Exception {
    publish("llm-deadline", "slow please", System.currentTimeMillis() + 1_500);
    List<AnswerEvent> events = awaitEnd("llm-deadline");
    AnswerEvent last = events.get(events.size() - 1);
    assertThat(last.getError().getCode()).isEqualTo("deadline_exceeded");
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.cancelled().contains("llm-deadline"));
  }
}

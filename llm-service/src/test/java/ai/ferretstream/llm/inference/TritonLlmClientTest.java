package ai.ferretstream.llm.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.testsupport.FakeLlm;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class TritonLlmClientTest {

  private final FakeLlm fake = new FakeLlm();
  private Server server;
  private ManagedChannel channel;
  private TritonLlmClient client;
  private final Recorder sink = new Recorder();

  /** Records what the stream delivered. */
  static final class Recorder implements TokenSink {
    final List<String> pieces = new CopyOnWriteArrayList<>();
    final List<String> errors = new CopyOnWriteArrayList<>();
    final List<RuntimeException> failures = new CopyOnWriteArrayList<>();
    final List<FailureKind> kinds = new CopyOnWriteArrayList<>();
    volatile boolean fin;

    @Override
    public void onPiece(String text) {
      pieces.add(text);
    }

    @Override
    public void onFinal() {
      fin = true;
    }

    @Override
    public void onModelError(String message) {
      errors.add(message);
    }

    @Override
    public void onFailure(RuntimeException failure, FailureKind kind) {
      failures.add(failure);
      kinds.add(kind);
    }
  }

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(ServerInterceptors.intercept(fake, FakeLlm.requestIdCapture()))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
    fake.shutdown();
  }

  private static GenerationRequest request(String id, String prompt, int regions) {
    return new GenerationRequest(
        id,
        prompt,
        TensorBytes.of(ByteString.copyFrom(new byte[10 * 4 * 2])),
        10,
        4,
        new int[] {24, 24, 48, 72, 1920, 1080},
        ByteString.copyFrom(new byte[regions * 3 * 2]),
        regions,
        3,
        new GenerationRequest.Sampling(64, 0.2f, 1.0f, 7L, List.of("</s>")));
  }

  @Test
  void streamsEveryPieceThenTheFinalResponse() {
    client.generate(request("g-1", "hello", 0), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> sink.fin);
    assertThat(sink.pieces).containsExactlyElementsOf(FakeLlm.ANSWER);
    assertThat(sink.errors).isEmpty();
    assertThat(sink.failures).isEmpty();
  }

  @Test
  void sendsOneRequestWithRawInputsParametersAndTheRequestIdHeader() {
    client.generate(request("g-2", "hello", 2), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> sink.fin);
    FakeLlm.Call call = fake.calls().get(0);
    assertThat(call.requestIdHeader()).isEqualTo("g-2");
    ModelInferRequest r = call.request();
    assertThat(r.getModelName()).isEqualTo("ferret_llm");
    assertThat(r.getId()).isEqualTo("g-2");
    assertThat(r.getParametersMap().get("triton_enable_empty_final_response").getBoolParam())
        .isTrue();
    long timeout = r.getParametersMap().get("timeout").getInt64Param();
    assertThat(timeout).isBetween(1L, 10_000_000L);
    assertThat(r.getInputsList())
        .extracting(ModelInferRequest.InferInputTensor::getName)
        .containsExactly(
            "prompt", "image_tokens", "image_layout", "region_embeddings", "sampling_parameters");
    assertThat(r.getInputs(1).getShapeList()).containsExactly(10L, 4L);
    assertThat(r.getInputs(2).getShapeList()).containsExactly(6L);
    assertThat(r.getInputs(3).getShapeList()).containsExactly(2L, 3L);
    assertThat(FakeLlm.prompt(r)).isEqualTo("hello");
    assertThat(TensorCodec.int32s(r.getRawInputContents(2).toByteArray()))
        .containsExactly(24, 24, 48, 72, 1920, 1080);
    JsonNode sampling =
        JsonMapper.shared()
            .readTree(
                TensorCodec.bytesTensorToStrings(r.getRawInputContents(4).toByteArray()).get(0));
    assertThat(sampling.get("max_tokens").asInt()).isEqualTo(64);
    assertThat(sampling.get("temperature").asDouble())
        .isEqualTo(0.2, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(sampling.get("top_p").asDouble()).isEqualTo(1.0);
    assertThat(sampling.get("seed").asLong()).isEqualTo(7);
    assertThat(sampling.get("stop").get(0).asString()).isEqualTo("</s>");
  }

  @Test
  void noRegionsIsAnEmptyTensorOfTheImageChannels() {
    client.generate(request("g-3", "hello", 0), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> sink.fin);
    ModelInferRequest r = fake.calls().get(0).request();
    assertThat(r.getInputs(3).getShapeList()).containsExactly(0L, 4L);
    assertThat(r.getRawInputContents(3).isEmpty()).isTrue();
  }

  /**
   * A model that declares its region width D (the LLM's hidden size, read from its metadata at
   * start-up) gets {@code [0, D]} for no regions, whatever the image tokens' width.
   */
  @Test
  void noRegionsIsAnEmptyTensorOfTheModelsRegionWidthWhenItIsKnown() {
    TritonLlmClient wide =
        new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL, null, 4096);
    ModelInferRequest r = wide.inferRequest(request("g-w", "hello", 0), 10_000);
    assertThat(r.getInputs(3).getName()).isEqualTo("region_embeddings");
    assertThat(r.getInputs(3).getShapeList()).containsExactly(0L, 4096L);
    assertThat(r.getRawInputContents(3).isEmpty()).isTrue();
    // regions of that width go as they are
    TritonLlmClient three =
        new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL, null, 3);
    assertThat(three.inferRequest(request("g-3w", "a <region_fea>", 1), 10_000).getInputs(3))
        .satisfies(t -> assertThat(t.getShapeList()).containsExactly(1L, 3L));
  }

  @Test
  void regionEmbeddingsOfAnotherWidthThanTheModelsAreRefusedBeforeTheCall() {
    TritonLlmClient wide =
        new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL, null, 4096);
    assertThatThrownBy(() -> wide.generate(request("g-x", "a <region_fea>", 1), 10_000, sink))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("inference_rejected"))
        .hasMessageContaining("takes region embeddings 4096 wide")
        .hasMessageContaining("the region sampler gave 3");
    assertThat(fake.calls()).isEmpty();
  }

  @Test
  void theRegionWidthIsReadFromTheModelsMetadata() {
    ModelMetadataResponse.Builder metadata = ModelMetadataResponse.newBuilder();
    metadata.addInputsBuilder().setName("image_tokens").addShape(-1).addShape(1024);
    metadata.addInputsBuilder().setName("region_embeddings").addShape(-1).addShape(4096);
    assertThat(TritonLlmClient.regionWidth(metadata.build())).isEqualTo(4096);
    metadata.getInputsBuilder(1).setShape(1, -1);
    assertThat(TritonLlmClient.regionWidth(metadata.build())).isEqualTo(-1);
    assertThat(TritonLlmClient.regionWidth(ModelMetadataResponse.getDefaultInstance()))
        .isEqualTo(-1);
  }

  @Test
  void errorMessageOfTheModelReachesTheSink() {
    client.generate(request("g-4", "fail-early", 0), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> !sink.errors.isEmpty());
    assertThat(sink.errors).containsExactly("model exploded");
    assertThat(sink.fin).isFalse();
  }

  @Test
  void cancelStopsTheServersStream() {
    TritonLlmClient.Call call = client.generate(request("g-5", "slow", 0), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> sink.pieces.size() >= 2);
    call.cancel("client went away");
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.cancelled().contains("g-5"));
    assertThat(sink.kinds).containsExactly(TokenSink.FailureKind.CANCELLED);
  }

  @Test
  void deadlineEndsTheCallAsDeadlineExceeded() {
    client.generate(request("g-6", "slow", 0), 300, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> !sink.kinds.isEmpty());
    assertThat(sink.kinds).containsExactly(TokenSink.FailureKind.DEADLINE_EXCEEDED);
    assertThat(sink.failures.get(0)).isInstanceOf(TransientFailure.class);
  }

  @Test
  void unreachableServerIsATransientFailure() {
    server.shutdownNow();
    client.generate(request("g-7", "hello", 0), 10_000, sink);
    await().atMost(Duration.ofSeconds(10)).until(() -> !sink.failures.isEmpty());
    assertThat(sink.failures.get(0)).isInstanceOf(TransientFailure.class);
    assertThat(sink.kinds).containsExactly(TokenSink.FailureKind.OTHER);
  }

  private static GenerationRequest withTokens(String id, String prompt, byte[] tokens) {
    return new GenerationRequest(
        id,
        prompt,
        TensorBytes.of(ByteString.copyFrom(tokens)),
        tokens.length / 8,
        4,
        new int[] {24, 24, 48, 72, 1920, 1080},
        ByteString.EMPTY,
        0,
        3,
        new GenerationRequest.Sampling(64, 0.2f, 1.0f, 7L, List.of("</s>")));
  }

  private static byte[] numbered(int bytes, int salt) {
    byte[] b = new byte[bytes];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 31 + salt);
    }
    return b;
  }

  @Test
  void throughSharedMemoryTheImageTokensLeaveTheMessageAndTheSlotIsHeldUntilTheEnd() {
    try (SharedMemoryPool pool =
        new SharedMemoryPool(channel, "llm-test", 1, 1 << 16, Duration.ofSeconds(5), null)) {
      TritonLlmClient shared =
          new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL, pool);
      byte[] tokens = numbered(10 * 4 * 2, 3);

      TritonLlmClient.Call slow = shared.generate(withTokens("s-1", "slow", tokens), 10_000, sink);
      await().atMost(Duration.ofSeconds(10)).until(() -> sink.pieces.size() >= 2);
      // the one slot is held while the first generation runs: the second goes in the message
      Recorder second = new Recorder();
      byte[] other = numbered(10 * 4 * 2, 5);
      shared.generate(withTokens("s-2", "hello", other), 10_000, second);
      await().atMost(Duration.ofSeconds(10)).until(() -> second.fin);
      slow.cancel("done");
      await().atMost(Duration.ofSeconds(10)).until(() -> !sink.kinds.isEmpty());
      // the slot is back: a third goes through it
      Recorder third = new Recorder();
      shared.generate(withTokens("s-3", "hello", other), 10_000, third);
      await().atMost(Duration.ofSeconds(10)).until(() -> third.fin);

      List<ModelInferRequest> sent = fake.calls().stream().map(FakeLlm.Call::request).toList();
      assertThat(sent.get(0).getInputs(1).getParametersMap()).containsKey("shared_memory_region");
      assertThat(sent.get(0).getRawInputContentsCount()).isEqualTo(4);
      assertThat(sent.get(1).getInputs(1).getParametersMap()).isEmpty();
      assertThat(sent.get(1).getRawInputContentsCount()).isEqualTo(5);
      assertThat(sent.get(2).getInputs(1).getParametersMap()).containsKey("shared_memory_region");
      assertThat(fake.imageTokens()).containsExactly(tokens, other, other);
      // the inputs after the image tokens still line up with their raw entries
      assertThat(TensorCodec.int32s(sent.get(0).getRawInputContents(1).toByteArray()))
          .containsExactly(24, 24, 48, 72, 1920, 1080);
    }
  }

  @Test
  void aServerThatForgotTheRegionsIsATransientFailureAndTheRegionsAreBack() {
    try (SharedMemoryPool pool =
        new SharedMemoryPool(channel, "llm-test", 1, 1 << 16, Duration.ofSeconds(5), null)) {
      TritonLlmClient shared =
          new TritonLlmClient(GRPCInferenceServiceGrpc.newStub(channel), FakeLlm.MODEL, pool);
      Recorder first = new Recorder();
      shared.generate(withTokens("r-1", "hello", numbered(80, 1)), 10_000, first);
      await().atMost(Duration.ofSeconds(10)).until(() -> first.fin);
      fake.forgetSharedMemory();

      shared.generate(withTokens("r-2", "hello", numbered(80, 2)), 10_000, sink);
      await().atMost(Duration.ofSeconds(10)).until(() -> !sink.failures.isEmpty());

      assertThat(sink.failures.get(0)).isInstanceOf(TransientFailure.class);
      assertThat(sink.errors).isEmpty();
      assertThat(fake.sharedMemoryRegions()).hasSize(1);
      Recorder retried = new Recorder();
      shared.generate(withTokens("r-2", "hello", numbered(80, 2)), 10_000, retried);
      await().atMost(Duration.ofSeconds(10)).until(() -> retried.fin);
      assertThat(fake.imageTokens().get(fake.imageTokens().size() - 1)).isEqualTo(numbered(80, 2));
    }
  }
}

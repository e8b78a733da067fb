package ai.ferretstream.fusion.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.testsupport.FakeRegionSampler;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TritonRegionSamplerTest {

  private final FakeRegionSampler fake = new FakeRegionSampler();
  private Server server;
  private ManagedChannel channel;
  private TritonRegionSampler sampler;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(ServerInterceptors.intercept(fake, FakeRegionSampler.requestIdCapture()))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    sampler =
        new TritonRegionSampler(
            GRPCInferenceServiceGrpc.newBlockingStub(channel),
            FakeRegionSampler.MODEL,
            Duration.ofSeconds(5),
            Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  private static RegionSampler.FeatureMap map(int h, int w, int c) {
    return new RegionSampler.FeatureMap(h, w, c, ByteString.copyFrom(new byte[h * w * c * 2]));
  }

  private static float[] points() {
    float[] p = new float[1024];
    Arrays.fill(p, 0.25f);
    return p;
  }

  @Test
  void sendsTheMapAndThePointsAsRawTensorsAndReadsTheEmbeddingSize() {
    RegionSampler.Embedding e =
        sampler.sample(TestFeatures.context("req-7", 0), map(48, 72, 8), points(), 3);
    assertThat(e.channels()).isEqualTo(FakeRegionSampler.CHANNELS);
    assertThat(TensorCodec.fp16ToFloats(e.fp16().toByteArray()))
        .containsExactly(0.25f, 0.25f, 48f, 72f, 3f);
    FakeRegionSampler.Call call = fake.calls().get(0);
    assertThat(call.requestIdHeader()).isEqualTo("req-7");
    ModelInferRequest request = call.request();
    assertThat(request.getModelName()).isEqualTo("ferret_region_sampler");
    assertThat(request.getId()).isEqualTo("req-7");
    assertThat(request.getInputs(0).getName()).isEqualTo("features");
    assertThat(request.getInputs(0).getDatatype()).isEqualTo("FP16");
    assertThat(request.getInputs(0).getShapeList()).containsExactly(1L, 48L, 72L, 8L);
    assertThat(request.getInputs(1).getName()).isEqualTo("points");
    assertThat(request.getInputs(1).getDatatype()).isEqualTo("FP32");
    assertThat(request.getInputs(1).getShapeList()).containsExactly(1L, 512L, 2L);
    assertThat(request.getInputs(2).getName()).isEqualTo("fps_start");
    assertThat(request.getInputs(2).getDatatype()).isEqualTo("INT64");
    assertThat(request.getInputs(2).getShapeList()).containsExactly(1L);
    assertThat(request.getRawInputContents(0).size()).isEqualTo(48 * 72 * 8 * 2);
    assertThat(request.getRawInputContents(1).size()).isEqualTo(512 * 2 * 4);
    assertThat(TensorCodec.int64s(request.getRawInputContents(2).toByteArray()))
        .containsExactly(3L);
  }

  @Test
  void aStartIndexOutsideThePointsIsRefusedBeforeAnyCall() {
    for (int start : new int[] {-1, 512}) {
      assertThatThrownBy(
              () -> sampler.sample(TestFeatures.context("r", 0), map(2, 2, 2), points(), start))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fps_start " + start);
    }
    assertThat(fake.calls()).isEmpty();
  }

  @Test
  void unavailableServerIsATransientFailure() {
    fake.failWith(Status.UNAVAILABLE.withDescription("loading"));
    assertThatThrownBy(
            () -> sampler.sample(TestFeatures.context("r", 0), map(2, 2, 2), points(), 3))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("UNAVAILABLE");
  }

  @Test
  void rejectedInputIsAPermanentFailure() {
    fake.failWith(Status.INVALID_ARGUMENT.withDescription("bad shape"));
    assertThatThrownBy(
            () -> sampler.sample(TestFeatures.context("r", 0), map(2, 2, 2), points(), 3))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("inference_rejected"));
  }

  @Test
  void outputOfTheWrongDatatypeIsAPermanentFailure() {
    fake.outputDatatype("FP32");
    assertThatThrownBy(
            () -> sampler.sample(TestFeatures.context("r", 0), map(2, 2, 2), points(), 3))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("expected FP16");
  }

  @Test
  void contractMatchesTheModelsMetadata() {
    TritonRegionSampler.contract(FakeRegionSampler.MODEL)
        .verify(GRPCInferenceServiceGrpc.newBlockingStub(channel), 5_000);
    assertThatThrownBy(
            () ->
                TritonRegionSampler.contract("other_model")
                    .verify(GRPCInferenceServiceGrpc.newBlockingStub(channel), 5_000))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not ready");
  }

  private static RegionSampler.FeatureMap numberedMap(int h, int w, int c) {
    byte[] fp16 = new byte[h * w * c * 2];
    for (int i = 0; i < fp16.length; i++) {
      fp16[i] = (byte) (i * 7 + 1);
    }
    return new RegionSampler.FeatureMap(h, w, c, ByteString.copyFrom(fp16));
  }

  private SharedMemoryPool onePool() {
    return new SharedMemoryPool(channel, "fusion-test", 1, 1 << 16, Duration.ofSeconds(5), null);
  }

  private TritonRegionSampler sharedSampler(SharedMemoryPool pool) {
    return new TritonRegionSampler(
        GRPCInferenceServiceGrpc.newBlockingStub(channel),
        FakeRegionSampler.MODEL,
        Duration.ofSeconds(5),
        Clock.systemUTC(),
        pool);
  }

  @Test
  void throughSharedMemoryTheMapLeavesTheMessageAndTheSlotGoesBackAfterTheCall() {
    try (SharedMemoryPool pool = onePool()) {
      TritonRegionSampler shared = sharedSampler(pool);
      RegionSampler.FeatureMap map = numberedMap(12, 18, 8);

      RegionSampler.Embedding first = shared.sample(TestFeatures.context("s", 0), map, points(), 3);
      RegionSampler.Embedding second =
          shared.sample(TestFeatures.context("s", 0), map, points(), 3);

      assertThat(TensorCodec.fp16ToFloats(first.fp16().toByteArray()))
          .containsExactly(0.25f, 0.25f, 12f, 18f, 3f);
      assertThat(second.fp16()).isEqualTo(first.fp16());
      for (FakeRegionSampler.Call call : fake.calls()) {
        // one slot, used by both calls in turn: the map in shared memory, the points and start raw
        assertThat(call.request().getInputs(0).getParametersMap())
            .containsKey("shared_memory_region");
        assertThat(call.request().getRawInputContentsCount()).isEqualTo(2);
        assertThat(call.request().getRawInputContents(0).size()).isEqualTo(512 * 2 * 4);
      }
      assertThat(fake.features())
          .hasSize(2)
          .allSatisfy(read -> assertThat(read).isEqualTo(map.fp16().toByteArray()));
    }
  }

  @Test
  void aServerThatForgotTheRegionsGetsThemAgainAndTheCallIsRetriedOnce() {
    try (SharedMemoryPool pool = onePool()) {
      TritonRegionSampler shared = sharedSampler(pool);
      shared.sample(TestFeatures.context("r", 0), map(2, 2, 2), points(), 3);
      fake.forgetSharedMemory();

      RegionSampler.Embedding e =
          shared.sample(TestFeatures.context("r", 0), map(4, 6, 2), points(), 3);

      assertThat(TensorCodec.fp16ToFloats(e.fp16().toByteArray()))
          .containsExactly(0.25f, 0.25f, 4f, 6f, 3f);
      assertThat(fake.calls()).hasSize(3); // refused once, then served
      assertThat(fake.sharedMemoryRegions()).hasSize(1);
    }
  }
}

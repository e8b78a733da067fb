package ai.ferretstream.encoder.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.testsupport.FakeEncoderModel;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TritonClientTest {

  private static final int CHANNELS = 4;
  private static final ModelSpec SPEC =
      new ModelSpec(FakeEncoderModel.MODEL, "", "pixels", "features", 336, 24);

  private final FakeEncoderModel fake = new FakeEncoderModel(CHANNELS);
  private Server server;
  private ManagedChannel channel;
  private TritonClient client;

  @BeforeEach
  void startFake() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(fake.definition())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = new TritonClient(channel, SPEC, Duration.ofSeconds(5));
  }

  @AfterEach
  void stopFake() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void splitsTheBatchOutputPerTileInInputOrder() {
    List<ByteString> tiles =
        List.of(
            FakeEncoderModel.solidTile(10),
            FakeEncoderModel.patchNumberedTile(),
            FakeEncoderModel.solidTile(30));

    EncodedBatch batch = client.encode(tiles, List.of("a", "b", "a"));

    assertThat(batch.channels()).isEqualTo(CHANNELS);
    assertThat(batch.features()).hasSize(3);
    float[] first = TensorCodec.fp16ToFloats(batch.features().get(0).toByteArray());
    float[] second = TensorCodec.fp16ToFloats(batch.features().get(1).toByteArray());
    float[] third = TensorCodec.fp16ToFloats(batch.features().get(2).toByteArray());
    assertThat(first).hasSize(576 * CHANNELS);
    for (int p = 0; p < 576; p++) {
      for (int c = 0; c < CHANNELS; c++) {
        assertThat(first[p * CHANNELS + c]).isEqualTo(10f + c);
        assertThat(second[p * CHANNELS + c]).isEqualTo((p % 251) + c);
        assertThat(third[p * CHANNELS + c]).isEqualTo(30f + c);
      }
    }
  }

  @Test
  void sendsTheTilesStackedAsOneUint8TensorWithTheRequestIds() {
    ByteString a = FakeEncoderModel.solidTile(1);
    ByteString b = FakeEncoderModel.solidTile(2);

    client.encode(List.of(a, b), List.of("req-1", "req-2"));

    ModelInferRequest call = fake.calls().get(0);
    assertThat(call.getModelName()).isEqualTo(FakeEncoderModel.MODEL);
    assertThat(call.getInputs(0).getName()).isEqualTo("pixels");
    assertThat(call.getInputs(0).getDatatype()).isEqualTo("UINT8");
    assertThat(call.getInputs(0).getShapeList()).containsExactly(2L, 336L, 336L, 3L);
    assertThat(call.getOutputs(0).getName()).isEqualTo("features");
    assertThat(call.getRawInputContentsCount()).isEqualTo(1);
    assertThat(call.getRawInputContents(0)).isEqualTo(a.concat(b));
    assertThat(call.getId()).isEqualTo("req-1,req-2");
    assertThat(fake.requestIdHeaders()).containsExactly("req-1");
  }

  @Test
  void mapsInvalidArgumentToAPermanentFailure() {
    fake.failNext(Status.INVALID_ARGUMENT.withDescription("bad tensor"));

    assertThatThrownBy(() -> client.encode(List.of(FakeEncoderModel.solidTile(1)), List.of("r")))
        .isInstanceOfSatisfying(
            PermanentFailure.class,
            e -> {
              assertThat(e.code()).isEqualTo("inference_rejected");
              assertThat(e.getMessage()).contains("INVALID_ARGUMENT").contains("bad tensor");
            });
  }

  @Test
  void mapsUnavailableAndOverloadToTransientFailures() {
    fake.failNext(Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED);
    List<ByteString> tile = List.of(FakeEncoderModel.solidTile(1));

    assertThatThrownBy(() -> client.encode(tile, List.of("r")))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("UNAVAILABLE");
    assertThatThrownBy(() -> client.encode(tile, List.of("r")))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("RESOURCE_EXHAUSTED");
  }

  @Test
  void rejectsAResponseWhoseSizeDoesNotMatchItsShape() {
    fake.corruptOutputSize(2);

    assertThatThrownBy(() -> client.encode(List.of(FakeEncoderModel.solidTile(1)), List.of("r")))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo(TritonClient.BAD_OUTPUT))
        .hasMessageContaining("bytes");
  }

  @Test
  void refusesTilesOfTheWrongSizeBeforeCallingTheModel() {
    assertThatThrownBy(
            () -> client.encode(List.of(ByteString.copyFrom(new byte[10])), List.of("r")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(fake.calls()).isEmpty();
  }

  @Test
  void acceptsAModelWithTheAgreedContract() {
    assertThat(client.verifyModel(Duration.ofSeconds(5)).getName())
        .isEqualTo(FakeEncoderModel.MODEL);
  }

  @Test
  void reportsADatatypeAndShapeMismatchAtStartUp() {
    fake.advertiseInput("FP32", -1L, 224L, 224L, 3L);

    assertThatThrownBy(() -> client.verifyModel(Duration.ofSeconds(5)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'pixels' is FP32, expected UINT8")
        .hasMessageContaining("[-1, 224, 224, 3]");
  }

  @Test
  void reportsAnOutputWithoutAFixedChannelCount() {
    fake.advertiseOutputShape(-1L, 576L, -1L);

    assertThatThrownBy(() -> client.verifyModel(Duration.ofSeconds(5)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("fixed channel count");
  }

  @Test
  void reportsAModelThatIsNotReady() {
    fake.setModelReady(false);

    assertThatThrownBy(() -> client.verifyModel(Duration.ofSeconds(5)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not ready");
    assertThat(client.modelReady(Duration.ofSeconds(5))).isFalse();
  }

  /** A client whose batches go through shared memory with {@code slots} slots. */
  private TritonClient sharedClient(SharedMemoryPool pool) {
    TritonClient shared = new TritonClient(channel, SPEC, Duration.ofSeconds(5), pool);
    shared.verifyModel(Duration.ofSeconds(5)); // learns the channel count
    return shared;
  }

  private SharedMemoryPool pool(int slots) {
    return new SharedMemoryPool(
        channel, "encoder-test", slots, 4 << 20, Duration.ofSeconds(5), null);
  }

  @Test
  void throughSharedMemoryTheTilesAndFeaturesLeaveTheMessages() {
    try (SharedMemoryPool pool = pool(2)) {
      TritonClient shared = sharedClient(pool);
      List<ByteString> tiles =
          List.of(FakeEncoderModel.solidTile(10), FakeEncoderModel.patchNumberedTile());

      try (EncodedBatch batch = shared.encode(tiles, List.of("a", "b"))) {
        assertThat(batch.shared()).isTrue();
        float[] first = TensorCodec.fp16ToFloats(batch.features().get(0).toByteArray());
        float[] second = TensorCodec.fp16ToFloats(batch.features().get(1).toByteArray());
        for (int p = 0; p < 576; p++) {
          for (int c = 0; c < CHANNELS; c++) {
            assertThat(first[p * CHANNELS + c]).isEqualTo(10f + c);
            assertThat(second[p * CHANNELS + c]).isEqualTo((p % 251) + c);
          }
        }
        // for a writer that takes buffers: a view of the slot itself, no copy
        java.nio.ByteBuffer map = batch.map(1);
        assertThat(map.isDirect()).isTrue();
        assertThat(map.remaining()).isEqualTo(576 * CHANNELS * 2);
        byte[] viewed = new byte[map.remaining()];
        map.get(viewed);
        assertThat(viewed).isEqualTo(batch.features().get(1).toByteArray());
      }
      ModelInferRequest sent = fake.calls().get(fake.calls().size() - 1);
      assertThat(sent.getRawInputContentsCount()).isZero();
      assertThat(sent.getInputs(0).getParametersMap()).containsKey("shared_memory_region");
      assertThat(
              sent.getOutputs(0).getParametersMap().get("shared_memory_byte_size").getInt64Param())
          .isEqualTo(2L * 576 * CHANNELS * 2);
    }
  }

  @Test
  void withoutAFreeSlotABatchGoesInTheMessage() {
    try (SharedMemoryPool pool = pool(1)) {
      TritonClient shared = sharedClient(pool);
      try (EncodedBatch held =
          shared.encode(List.of(FakeEncoderModel.solidTile(1)), List.of("a"))) {
        EncodedBatch second = shared.encode(List.of(FakeEncoderModel.solidTile(2)), List.of("b"));

        assertThat(held.shared()).isTrue();
        assertThat(second.shared()).isFalse();
        assertThat(TensorCodec.fp16ToFloats(second.features().get(0).toByteArray())[0])
            .isEqualTo(2f);
        assertThat(fake.calls().get(fake.calls().size() - 1).getRawInputContentsCount())
            .isEqualTo(1);
      }
      // the slot is back
      assertThat(shared.encode(List.of(FakeEncoderModel.solidTile(3)), List.of("c")).shared())
          .isTrue();
    }
  }

  @Test
  void aServerThatForgotTheRegionsGetsThemAgainAndTheBatchIsRetriedOnce() {
    try (SharedMemoryPool pool = pool(1)) {
      TritonClient shared = sharedClient(pool);
      shared.encode(List.of(FakeEncoderModel.solidTile(1)), List.of("a")).close();
      fake.forgetSharedMemory(); // a restarted server
      int before = fake.calls().size();

      try (EncodedBatch batch =
          shared.encode(List.of(FakeEncoderModel.solidTile(9)), List.of("again"))) {
        assertThat(batch.shared()).isTrue();
        assertThat(TensorCodec.fp16ToFloats(batch.features().get(0).toByteArray())[0])
            .isEqualTo(9f);
      }
      assertThat(fake.calls().size() - before).isEqualTo(2); // refused once, then served
      assertThat(fake.sharedMemoryRegions()).hasSize(1);
    }
    assertThat(fake.sharedMemoryRegions()).isEmpty(); // closing the pool unregisters
  }
}

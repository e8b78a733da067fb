package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferInputTensor;
import ai.ferretstream.proto.inference.ModelInferRequest.InferRequestedOutputTensor;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ServerMetadataRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.SharedMemoryRegions;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** Triton's system shared-memory extension: registration, and tensors read and written in place. */
class SharedMemoryTest extends InferenceServiceHarness {

  /** Creates the object {@code key} of {@code bytes} bytes and maps it, as a client does. */
  MappedByteBuffer object(String key, int bytes) throws Exception {
    Path file = SharedMemory.file(shmDir, key);
    try (FileChannel ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      ch.truncate(bytes);
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes);
      map.order(ByteOrder.LITTLE_ENDIAN);
      return map;
    }
  }

  void register(String name, String key, long offset, long bytes) {
    stub()
        .systemSharedMemoryRegister(
            SystemSharedMemoryRegisterRequest.newBuilder()
                .setName(name)
                .setKey(key)
                .setOffset(offset)
                .setByteSize(bytes)
                .build());
  }

  static InferParameter text(String s) {
    return InferParameter.newBuilder().setStringParam(s).build();
  }

  static InferParameter number(long n) {
    return InferParameter.newBuilder().setInt64Param(n).build();
  }

  static InferInputTensor inRegion(InferInputTensor t, String region, long offset, long bytes) {
    return t.toBuilder()
        .putParameters(SharedMemory.REGION, text(region))
        .putParameters(SharedMemory.OFFSET, number(offset))
        .putParameters(SharedMemory.BYTE_SIZE, number(bytes))
        .build();
  }

  static InferRequestedOutputTensor outputInRegion(
      String name, String region, long offset, long bytes) {
    return InferRequestedOutputTensor.newBuilder()
        .setName(name)
        .putParameters(SharedMemory.REGION, text(region))
        .putParameters(SharedMemory.OFFSET, number(offset))
        .putParameters(SharedMemory.BYTE_SIZE, number(bytes))
        .build();
  }

  @Test
  void theServerAnnouncesTheExtension() throws Exception {
    start(null);
    assertThat(
            stub().serverMetadata(ServerMetadataRequest.getDefaultInstance()).getExtensionsList())
        .contains("system_shared_memory");
  }

  @Test
  void regionsAreRegisteredListedAndUnregistered() throws Exception {
    start(null);
    object("/ferret-a", 4096);
    register("a", "/ferret-a", 1024, 2048);

    SystemSharedMemoryStatusResponse all =
        stub().systemSharedMemoryStatus(SystemSharedMemoryStatusRequest.getDefaultInstance());
    assertThat(all.getRegionsMap()).containsOnlyKeys("a");
    assertThat(all.getRegionsMap().get("a").getKey()).isEqualTo("/ferret-a");
    assertThat(all.getRegionsMap().get("a").getOffset()).isEqualTo(1024);
    assertThat(all.getRegionsMap().get("a").getByteSize()).isEqualTo(2048);

    assertThatThrownBy(() -> register("a", "/ferret-a", 0, 16))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));

    stub()
        .systemSharedMemoryUnregister(
            SystemSharedMemoryUnregisterRequest.newBuilder().setName("a").build());
    assertThatThrownBy(
            () ->
                stub()
                    .systemSharedMemoryStatus(
                        SystemSharedMemoryStatusRequest.newBuilder().setName("a").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void aMissingObjectABadKeyOrAWindowPastTheObjectIsRefused() throws Exception {
    start(null);
    object("/small", 64);
    assertThatThrownBy(() -> register("x", "/absent", 0, 16))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription()).contains("/absent");
            });
    assertThatThrownBy(() -> register("x", "/../etc/passwd", 0, 16))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    assertThatThrownBy(() -> register("x", "/small", 32, 64))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).contains("has 64 bytes"));
  }

  @Test
  void anInputIsReadFromItsRegionAndAnOutputWrittenToItsRegion() throws Exception {
    startLoaded(null);
    MappedByteBuffer map = object("/io", 64);
    register("io", "/io", 0, 64);
    map.putFloat(8, 1.5f).putFloat(12, -2f); // the input at offset 8

    ModelInferResponse response =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName("echo")
                    .setId("shm")
                    .addInputs(inRegion(input("x", "FP32", 1, 2), "io", 8, 8))
                    .addOutputs(outputInRegion("y", "io", 32, 32))
                    .build());

    assertThat(response.getOutputs(0).getShapeList()).containsExactly(1L, 2L);
    assertThat(response.getOutputs(0).getParametersMap().get(SharedMemory.REGION).getStringParam())
        .isEqualTo("io");
    assertThat(
            response.getOutputs(0).getParametersMap().get(SharedMemory.BYTE_SIZE).getInt64Param())
        .isEqualTo(8);
    // one entry per output, empty for the one in shared memory (Triton's alignment)
    assertThat(response.getRawOutputContentsList()).containsExactly(ByteString.EMPTY);
    assertThat(map.getFloat(32)).isEqualTo(3f);
    assertThat(map.getFloat(36)).isEqualTo(-4f);
  }

  @Test
  void anInputInSharedMemoryIsReadWhereItLiesNotCopied() throws Exception {
    MappedByteBuffer map = object("/view", 16);
    SharedMemoryRegions regions = new SharedMemoryRegions(shmDir);
    regions.register("view", "/view", 0, 16);
    map.putFloat(4, 1.5f).putFloat(8, -2f);
    ModelConfig config =
        ModelConfigs.parse(
            """
            name: "m"
            backend: "java"
            input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
            """,
            "m");

    Tensor x =
        RequestDecoder.decode(
                ModelInferRequest.newBuilder()
                    .setModelName("m")
                    .addInputs(inRegion(input("x", "FP32", 2), "view", 4, 8))
                    .build(),
                config,
                regions)
            .get("x");

    assertThat(x.isView()).isTrue();
    assertThat(x.byteSize()).isEqualTo(8);
    assertThat(x.littleEndian().getFloat(0)).isEqualTo(1.5f);
    // a view of the mapping: what the client's region holds is what the model reads
    map.putFloat(4, 7f);
    assertThat(x.littleEndian().getFloat(0)).isEqualTo(7f);
    assertThat(TensorCodec.fp32ToFloats(x.data().toByteArray())).containsExactly(7f, -2f);
  }

  @Test
  void anInputInSharedMemoryCanReturnItsOutputInTheResponse() throws Exception {
    startLoaded(null);
    MappedByteBuffer map = object("/in", 8);
    register("in", "/in", 0, 8);
    map.putFloat(0, 4f).putFloat(4, 5f);

    ModelInferResponse response =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName("echo")
                    .addInputs(inRegion(input("x", "FP32", 1, 2), "in", 0, 8))
                    .build());

    float[] y = TensorCodec.fp32ToFloats(response.getRawOutputContents(0).toByteArray());
    assertThat(y).containsExactly(8f, 10f);
  }

  @Test
  void aWindowOutsideItsRegionAnUnknownRegionOrAnOutputTooLargeIsRefused() throws Exception {
    startLoaded(null);
    object("/r", 16);
    register("r", "/r", 0, 16);
    ModelInferRequest.Builder base = ModelInferRequest.newBuilder().setModelName("echo");

    assertThatThrownBy(
            () ->
                stub()
                    .modelInfer(
                        base.clone()
                            .addInputs(inRegion(input("x", "FP32", 1, 2), "r", 12, 8))
                            .build()))
        .hasMessageContaining("outside shared-memory region 'r' (16 bytes)");
    assertThatThrownBy(
            () ->
                stub()
                    .modelInfer(
                        base.clone()
                            .addInputs(inRegion(input("x", "FP32", 1, 2), "nope", 0, 8))
                            .build()))
        .hasMessageContaining("'nope', which is not registered");
    assertThatThrownBy(
            () ->
                stub()
                    .modelInfer(
                        base.clone()
                            .addInputs(inRegion(input("x", "FP32", 1, 2), "r", 0, 8))
                            .addOutputs(outputInRegion("y", "r", 8, 4))
                            .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .contains("output 'y' has 8 bytes but its shared-memory window");
            });
    // the region is still usable after the refusals
    ModelInferResponse ok =
        stub()
            .modelInfer(
                base.clone()
                    .addInputs(inRegion(input("x", "FP32", 1, 2), "r", 0, 8))
                    .addOutputs(outputInRegion("y", "r", 8, 8))
                    .build());
    assertThat(ok.getOutputsCount()).isEqualTo(1);
  }
}

package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.input;

import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import ai.ferretstream.inferenceserver.ModelRegistry.State;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC service over fake backends on an in-process transport: the shared set-up. */
abstract class InferenceServiceHarness {

  static final ModelConfig ECHO =
      ModelConfigs.parse(
          """
          name: "echo"
          platform: "onnxruntime_onnx"
          max_batch_size: 8
          input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] } ]
          output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
          """,
          "echo");
  static final ModelConfig COUNTER =
      ModelConfigs.parse(
          """
          name: "counter"
          backend: "java"
          model_transaction_policy { decoupled: true }
          input [ { name: "n" data_type: TYPE_INT32 dims: [ 1 ] } ]
          output [ { name: "piece" data_type: TYPE_STRING dims: [ 1 ] } ]
          """,
          "counter");

  final ExecutorService grpcExecutor = Executors.newFixedThreadPool(4);
  @TempDir Path shmDir;
  Server server;
  ManagedChannel channel;
  ModelRegistry registry;

  /** Doubles x. */
  static final class Echo implements ModelBackend {
    @Override
    public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
      Tensor x = inputs.get("x");
      float[] v = TensorCodec.fp32ToFloats(x.data().toByteArray());
      for (int i = 0; i < v.length; i++) {
        v[i] *= 2;
      }
      sink.send(
          List.of(
              new Tensor("y", "FP32", x.shape(), ByteString.copyFrom(TensorCodec.floatsToFp32(v)))),
          true);
    }

    @Override
    public void close() {}
  }

  /** Streams n pieces "p0".."p{n-1}"; n = -1 streams one piece, then waits for cancellation. */
  static final class Counter implements ModelBackend {
    final CountDownLatch release;
    final AtomicBoolean sawCancel = new AtomicBoolean();
    final CountDownLatch stopped = new CountDownLatch(1);

    Counter(CountDownLatch release) {
      this.release = release;
    }

    @Override
    public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
      int n = inputs.get("n").littleEndian().getInt(0);
      if (n < -1) {
        throw InferenceException.invalid("n must be >= -1, is " + n);
      }
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (n == -1) {
        sink.send(List.of(piece("p0")), false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!sink.cancelled() && System.nanoTime() < deadline) {
          LockSupport.parkNanos(1_000_000);
        }
        sawCancel.set(sink.cancelled());
        stopped.countDown();
        return;
      }
      for (int i = 0; i < n && !sink.cancelled(); i++) {
        sink.send(List.of(piece("p" + i)), i == n - 1);
      }
    }

    @Override
    public void close() {}
  }

  static Tensor piece(String s) {
    return new Tensor("piece", "BYTES", new long[] {1}, TestTensors.strings(s));
  }

  void start(ModelRegistry.Loader loader) throws Exception {
    registry =
        new ModelRegistry(
            Map.of(
                "echo", List.of(new Slot("echo", "1", ECHO, null, State.LOADING, "")),
                "counter", List.of(new Slot("counter", "1", COUNTER, null, State.LOADING, ""))));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .executor(grpcExecutor)
            .addService(
                new InferenceService(
                    registry, new ai.ferretstream.proto.triton.SharedMemoryRegions(shmDir)))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    if (loader != null) {
      registry.loadAll(loader);
    }
  }

  void startLoaded(Counter counter) throws Exception {
    start((config, dir) -> config.getName().equals("echo") ? new Echo() : counter);
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    grpcExecutor.shutdownNow();
    if (registry != null) {
      registry.close();
    }
  }

  GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  static ModelInferRequest echo(String id, float... values) {
    return ModelInferRequest.newBuilder()
        .setModelName("echo")
        .setId(id)
        .addInputs(input("x", "FP32", values.length / 2, 2))
        .addRawInputContents(ByteString.copyFrom(TensorCodec.floatsToFp32(values)))
        .build();
  }

  static ModelInferRequest count(String id, int n, boolean emptyFinal) {
    ModelInferRequest.Builder b =
        ModelInferRequest.newBuilder()
            .setModelName("counter")
            .setId(id)
            .addInputs(input("n", "INT32", 1))
            .addRawInputContents(ByteString.copyFrom(TensorCodec.int32Bytes(n)));
    if (emptyFinal) {
      b.putParameters(
          InferenceService.ENABLE_EMPTY_FINAL,
          InferParameter.newBuilder().setBoolParam(true).build());
    }
    return b.build();
  }
}

package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import ai.ferretstream.inferenceserver.ModelRegistry.State;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub;
import ai.ferretstream.proto.inference.InferBatchStatistics;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.onnxruntime.OrtEnvironment;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scheduler behind ModelInfer / ModelStreamInfer: dynamic batching, queue limits, cancellation
 * while queued, instance concurrency and the statistics they produce. Batches are made
 * deterministic by holding the model's only instance in a first request (a gate) while the others
 * queue.
 */
class DynamicBatchingTest {

  final ExecutorService grpcExecutor = Executors.newFixedThreadPool(4);
  Server server;
  ManagedChannel channel;
  ModelRegistry registry;
  Slot slot;

  /** Doubles every value of x into y; holds executions until released; records each batch. */
  static class Doubler implements ModelBackend {
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch entered = new CountDownLatch(1);
    final List<Integer> batchRows = Collections.synchronizedList(new ArrayList<>());
    final List<Float> seen = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger maxRunning = new AtomicInteger();

    Doubler open() {
      release.countDown();
      return this;
    }

    @Override
    public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
      maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        entered.countDown();
        await(release);
        Tensor x = inputs.get("x");
        batchRows.add((int) x.dim(0));
        float[] v = TensorCodec.fp32ToFloats(x.data().toByteArray());
        for (int i = 0; i < v.length; i++) {
          seen.add(v[i]);
          v[i] *= 2;
        }
        sink.send(
            List.of(
                new Tensor(
                    "y", "FP32", x.shape(), ByteString.copyFrom(TensorCodec.floatsToFp32(v)))),
            true);
      } finally {
        running.decrementAndGet();
      }
    }

    @Override
    public void close() {}
  }

  static ModelConfig config(String scheduling) {
    return ModelConfigs.parse(
        """
        name: "m"
        platform: "onnxruntime_onnx"
        max_batch_size: 8
        input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
        output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
        """
            + scheduling,
        "m");
  }

  void start(ModelConfig config, ModelRegistry.Loader loader) throws Exception {
    slot = new Slot(config.getName(), "1", config, null, State.LOADING, "");
    registry = new ModelRegistry(Map.of(config.getName(), List.of(slot)));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .executor(grpcExecutor)
            .addService(
                new InferenceService(
                    registry,
                    new ai.ferretstream.proto.triton.SharedMemoryRegions(
                        ai.ferretstream.proto.triton.SharedMemory.directory())))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    assertThat(registry.loadAll(loader)).isEmpty();
  }

  Doubler start(String scheduling) throws Exception {
    Doubler d = new Doubler();
    start(config(scheduling), (c, dir) -> d);
    return d;
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

  GRPCInferenceServiceFutureStub async() {
    return GRPCInferenceServiceGrpc.newFutureStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  /** A request of {@code rows} rows of {@code width} values, value = base + index. */
  static ModelInferRequest rows(String id, int rows, int width, float base) {
    float[] v = new float[rows * width];
    for (int i = 0; i < v.length; i++) {
      v[i] = base + i;
    }
    return ModelInferRequest.newBuilder()
        .setModelName("m")
        .setId(id)
        .addInputs(input("x", "FP32", rows, width))
        .addRawInputContents(ByteString.copyFrom(TensorCodec.floatsToFp32(v)))
        .build();
  }

  static void assertDoubled(ModelInferRequest request, ModelInferResponse response) {
    assertThat(response.getId()).isEqualTo(request.getId());
    assertThat(response.getOutputs(0).getShapeList())
        .isEqualTo(request.getInputs(0).getShapeList());
    float[] in = TensorCodec.fp32ToFloats(request.getRawInputContents(0).toByteArray());
    float[] out = TensorCodec.fp32ToFloats(response.getRawOutputContents(0).toByteArray());
    assertThat(out).hasSameSizeAs(in);
    for (int i = 0; i < in.length; i++) {
      assertThat(out[i]).as("%s value %d", request.getId(), i).isEqualTo(2 * in[i]);
    }
  }

  ModelStatistics stats() {
    return stats("m");
  }

  ModelStatistics stats(String model) {
    return stub()
        .modelStatistics(ModelStatisticsRequest.newBuilder().setName(model).build())
        .getModelStats(0);
  }

  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released in 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Thread.sleep(5);
    }
  }

  /** Sends a first request that holds the only instance, and waits until it is executing. */
  ListenableFuture<ModelInferResponse> occupy(Doubler d, ModelInferRequest gate) {
    ListenableFuture<ModelInferResponse> f = async().modelInfer(gate);
    await(d.entered);
    return f;
  }

  /** Sends a request and waits until it is queued, so that queue order is send order. */
  ListenableFuture<ModelInferResponse> enqueue(ModelInferRequest request)
      throws InterruptedException {
    int before = slot.scheduler().queued();
    ListenableFuture<ModelInferResponse> f = async().modelInfer(request);
    awaitQueued(before + 1);
    return f;
  }

  void awaitQueued(int n) throws InterruptedException {
    eventually(() -> slot.scheduler().queued() == n, n + " requests queued");
  }

  @Test
  void readsTheSchedulingSettingsFromTheConfig() {
    ModelScheduler.Settings s =
        ModelScheduler.Settings.of(
            config(
                """
                dynamic_batching {
                  preferred_batch_size: [ 4, 2 ]
                  max_queue_delay_microseconds: 1500
                  default_queue_policy { max_queue_size: 64 }
                }
                instance_group [ { count: 2 kind: KIND_CPU }, { kind: KIND_GPU } ]
                """));
    assertThat(s.batching()).isTrue();
    assertThat(s.maxBatchSize()).isEqualTo(8);
    assertThat(s.maxQueueDelayNs()).isEqualTo(1_500_000);
    assertThat(s.preferredBatchSizes()).containsExactly(2, 4);
    assertThat(s.maxQueueSize()).isEqualTo(64);
    assertThat(s.instances()).isEqualTo(3);

    ModelScheduler.Settings plain = ModelScheduler.Settings.of(config(""));
    assertThat(plain.batching()).isFalse();
    assertThat(plain.maxQueueSize()).isZero();
    assertThat(plain.instances()).isEqualTo(1);
    assertThat(
            ModelScheduler.Settings.of(
                    config("dynamic_batching { } model_transaction_policy { decoupled: true }"))
                .batching())
        .as("decoupled models are never batched")
        .isFalse();
  }

  @Test
  void concurrentRequestsShareOneExecutionAndEachGetsItsOwnRowsBack() throws Exception {
    Doubler d = start("dynamic_batching { max_queue_delay_microseconds: 100000 }");
    ModelInferRequest gate = rows("gate", 1, 3, 1000);
    ListenableFuture<ModelInferResponse> first = occupy(d, gate);
    List<ModelInferRequest> requests =
        List.of(
            rows("a", 1, 3, 0), rows("b", 2, 3, 100), rows("c", 1, 3, 200), rows("d", 3, 3, 300));
    List<ListenableFuture<ModelInferResponse>> futures = new ArrayList<>();
    for (ModelInferRequest r : requests) {
      futures.add(async().modelInfer(r)); // all at once: any arrival order gives one batch
    }
    awaitQueued(4);

    d.release.countDown();

    assertDoubled(gate, first.get(10, TimeUnit.SECONDS));
    for (int i = 0; i < requests.size(); i++) {
      assertDoubled(requests.get(i), futures.get(i).get(10, TimeUnit.SECONDS));
    }
    assertThat(d.batchRows).containsExactly(1, 7);
    assertThat(d.maxRunning).hasValue(1);

    ModelStatistics s = stats();
    assertThat(s.getInferenceCount()).isEqualTo(8);
    assertThat(s.getExecutionCount()).isEqualTo(2);
    assertThat(s.getExecutionCount()).isLessThan(1 + requests.size());
    assertThat(s.getInferenceStats().getSuccess().getCount()).isEqualTo(5);
    assertThat(s.getInferenceStats().getFail().getCount()).isZero();
    assertThat(s.getInferenceStats().getQueue().getCount()).isEqualTo(5);
    assertThat(s.getInferenceStats().getComputeInput().getCount()).isEqualTo(5);
    assertThat(s.getInferenceStats().getComputeInfer().getCount()).isEqualTo(5);
    assertThat(s.getInferenceStats().getComputeOutput().getCount()).isEqualTo(5);
    assertThat(s.getInferenceStats().getQueue().getNs()).isPositive();
    assertThat(s.getBatchStatsList())
        .extracting(
            InferBatchStatistics::getBatchSize,
            b -> b.getComputeInput().getCount(),
            b -> b.getComputeInfer().getCount(),
            b -> b.getComputeOutput().getCount())
        .containsExactly(tuple(1L, 1L, 1L, 1L), tuple(7L, 1L, 1L, 1L));
  }

  @Test
  void batchesTheDevClipModelAndEveryRequestGetsWhatItGetsAlone() throws Exception {
    Path dir = Path.of("model-repository", "clip_vision");
    ModelConfig clip = ModelConfigs.read(dir);
    OnnxBackend onnx =
        OnnxBackend.load(OrtEnvironment.getEnvironment(), clip, dir.resolve("1/model.onnx"));
    Doubler gate = new Doubler(); // used only for its gate and batch log
    start(
        clip,
        (c, d) ->
            new ModelBackend() {
              @Override
              public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
                gate.entered.countDown();
                await(gate.release);
                gate.batchRows.add(inputs.batchSize());
                onnx.execute(inputs, outputs, sink);
              }

              @Override
              public void close() {
                onnx.close();
              }
            });
    ModelInferRequest first = tiles("t0", new int[] {255, 0, 0});
    ModelInferRequest two = tiles("t1", new int[] {0, 160, 0}, new int[] {0, 0, 255});
    ModelInferRequest one = tiles("t2", new int[] {128, 128, 128});

    ListenableFuture<ModelInferResponse> f0 =
        GRPCInferenceServiceGrpc.newFutureStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .modelInfer(first);
    await(gate.entered);
    ListenableFuture<ModelInferResponse> f1 = enqueue(two);
    ListenableFuture<ModelInferResponse> f2 = enqueue(one);
    gate.release.countDown();
    ModelInferResponse batched1 = f1.get(20, TimeUnit.SECONDS);
    ModelInferResponse batched2 = f2.get(20, TimeUnit.SECONDS);
    f0.get(20, TimeUnit.SECONDS);

    ModelInferResponse alone1 = stub().modelInfer(two);
    ModelInferResponse alone2 = stub().modelInfer(one);

    assertThat(gate.batchRows).containsExactly(1, 3, 2, 1);
    assertThat(batched1.getOutputs(0).getShapeList()).containsExactly(2L, 576L, 1024L);
    assertThat(batched2.getOutputs(0).getShapeList()).containsExactly(1L, 576L, 1024L);
    assertThat(batched1.getId()).isEqualTo("t1");
    assertThat(batched2.getId()).isEqualTo("t2");
    assertThat(batched1.getRawOutputContents(0)).isEqualTo(alone1.getRawOutputContents(0));
    assertThat(batched2.getRawOutputContents(0)).isEqualTo(alone2.getRawOutputContents(0));
    assertThat(batched1.getRawOutputContents(0)).isNotEqualTo(batched2.getRawOutputContents(0));
    assertThat(stats("clip_vision").getBatchStatsList())
        .extracting(InferBatchStatistics::getBatchSize, b -> b.getComputeInfer().getCount())
        .containsExactly(tuple(1L, 2L), tuple(2L, 1L), tuple(3L, 1L));
  }

  static ModelInferRequest tiles(String id, int[]... colours) {
    return ModelInferRequest.newBuilder()
        .setModelName("clip_vision")
        .setId(id)
        .addInputs(input("pixels", "UINT8", colours.length, 336, 336, 3))
        .addRawInputContents(ByteString.copyFrom(TestTensors.solidTiles(colours)))
        .build();
  }

  @Test
  void aLoneRequestWaitsAtMostTheQueueDelay() throws Exception {
    start("dynamic_batching { max_queue_delay_microseconds: 300000 }").open();

    ModelInferRequest r = rows("lone", 1, 4, 5);
    ModelInferResponse response =
        GRPCInferenceServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .modelInfer(r);

    assertDoubled(r, response);
    ModelStatistics s = stats();
    assertThat(s.getExecutionCount()).isEqualTo(1);
    // it waited for company as long as allowed, then ran alone
    assertThat(s.getInferenceStats().getQueue().getNs())
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
  }

  @Test
  void aPreferredBatchSizeLaunchesAtOnceAndTheRestWaitsForTheDelay() throws Exception {
    Doubler d =
        start(
            "dynamic_batching { preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 200000"
                + " }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    List<ListenableFuture<ModelInferResponse>> futures = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      futures.add(async().modelInfer(rows("r" + i, 1, 2, 10 * i)));
    }
    awaitQueued(3);

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    for (ListenableFuture<ModelInferResponse> f : futures) {
      f.get(10, TimeUnit.SECONDS);
    }

    assertThat(d.batchRows).containsExactly(1, 2, 1);
  }

  @Test
  void requestsAreNeverSplitAndMoreRowsThanMaxBatchSizeAreRefused() throws Exception {
    Doubler d = start("dynamic_batching { }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    ModelInferRequest a = rows("a", 5, 2, 100);
    ModelInferRequest b = rows("b", 5, 2, 200);
    ListenableFuture<ModelInferResponse> fa = enqueue(a);
    ListenableFuture<ModelInferResponse> fb = enqueue(b);

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    assertDoubled(a, fa.get(10, TimeUnit.SECONDS));
    assertDoubled(b, fb.get(10, TimeUnit.SECONDS));

    assertThat(d.batchRows).containsExactly(1, 5, 5);
    assertThatThrownBy(() -> stub().modelInfer(rows("big", 9, 2, 0)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).contains("batch size 9", "1 to 8");
            });
  }

  @Test
  void onlyRequestsWithTheSameNonBatchDimensionsShareABatch() throws Exception {
    Doubler d = start("dynamic_batching { }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    ModelInferRequest w2a = rows("w2a", 1, 2, 10);
    ModelInferRequest w3 = rows("w3", 1, 3, 20);
    ModelInferRequest w2b = rows("w2b", 2, 2, 30);
    List<ListenableFuture<ModelInferResponse>> futures =
        List.of(enqueue(w2a), enqueue(w3), enqueue(w2b));

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);

    assertDoubled(w2a, futures.get(0).get(10, TimeUnit.SECONDS));
    assertDoubled(w3, futures.get(1).get(10, TimeUnit.SECONDS));
    assertDoubled(w2b, futures.get(2).get(10, TimeUnit.SECONDS));
    assertThat(d.batchRows).containsExactly(1, 3, 1);
  }

  @Test
  void aFullQueueRefusesWithResourceExhausted() throws Exception {
    Doubler d = start("dynamic_batching { default_queue_policy { max_queue_size: 2 } }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    ListenableFuture<ModelInferResponse> q1 = async().modelInfer(rows("q1", 1, 2, 10));
    ListenableFuture<ModelInferResponse> q2 = async().modelInfer(rows("q2", 1, 2, 20));
    awaitQueued(2);

    assertThatThrownBy(() -> stub().modelInfer(rows("q3", 1, 2, 30)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(e.getStatus().getDescription())
                  .contains("model 'm' version '1'", "2 requests are already queued")
                  .contains("max_queue_size");
            });

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    q1.get(10, TimeUnit.SECONDS);
    q2.get(10, TimeUnit.SECONDS);
    ModelStatistics s = stats();
    assertThat(s.getInferenceStats().getSuccess().getCount()).isEqualTo(3);
    assertThat(s.getInferenceStats().getFail().getCount()).isEqualTo(1);
    assertThat(s.getInferenceCount()).isEqualTo(3);
    assertThat(d.seen).doesNotContain(30f);
  }

  @Test
  void aRequestCancelledOrPastItsDeadlineWhileQueuedIsNeverRun() throws Exception {
    Doubler d = start("dynamic_batching { }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    ListenableFuture<ModelInferResponse> dropped = async().modelInfer(rows("dropped", 1, 2, 60));
    awaitQueued(1);
    ListenableFuture<ModelInferResponse> late =
        GRPCInferenceServiceGrpc.newFutureStub(channel)
            .withDeadlineAfter(1, TimeUnit.SECONDS)
            .modelInfer(rows("late", 1, 2, 50));

    assertThatThrownBy(() -> late.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    eventually(() -> stats().getInferenceStats().getFail().getCount() == 1, "late removed");
    assertThat(slot.scheduler().queued()).isEqualTo(1);
    dropped.cancel(true);
    awaitQueued(0);
    eventually(() -> stats().getInferenceStats().getFail().getCount() == 2, "two failures");

    d.release.countDown();
    assertDoubled(rows("gate", 1, 2, 0), first.get(10, TimeUnit.SECONDS));
    ModelInferResponse after = stub().modelInfer(rows("after", 1, 2, 70));

    assertThat(after.getId()).isEqualTo("after");
    assertThat(d.batchRows).containsExactly(1, 1);
    assertThat(d.seen).doesNotContain(50f, 51f, 60f, 61f);
    ModelStatistics s = stats();
    assertThat(s.getExecutionCount()).isEqualTo(2);
    assertThat(s.getInferenceCount()).isEqualTo(2);
    assertThat(s.getInferenceStats().getSuccess().getCount()).isEqualTo(2);
    assertThat(s.getInferenceStats().getFail().getCount()).isEqualTo(2);
  }

  @Test
  void withoutDynamicBatchingEveryRequestRunsAloneInArrivalOrder() throws Exception {
    Doubler d = start("");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    List<ListenableFuture<ModelInferResponse>> futures = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      futures.add(enqueue(rows("r" + i, i, 2, 10 * i)));
    }

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    for (ListenableFuture<ModelInferResponse> f : futures) {
      f.get(10, TimeUnit.SECONDS);
    }

    assertThat(d.batchRows).containsExactly(1, 1, 2, 3);
    assertThat(d.maxRunning).hasValue(1);
    assertThat(stats().getExecutionCount()).isEqualTo(4);
    assertThat(stats().getInferenceCount()).isEqualTo(7);
  }

  @Test
  void instanceCountExecutionsRunAtTheSameTime() throws Exception {
    CountDownLatch bothIn = new CountDownLatch(2);
    List<Boolean> sawTheOther = Collections.synchronizedList(new ArrayList<>());
    Doubler d =
        new Doubler() {
          @Override
          public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
            bothIn.countDown();
            try {
              sawTheOther.add(bothIn.await(10, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            super.execute(inputs, outputs, sink);
          }
        }.open();
    start(config("instance_group [ { count: 2 kind: KIND_CPU } ]"), (c, dir) -> d);

    ListenableFuture<ModelInferResponse> a = async().modelInfer(rows("a", 1, 2, 0));
    ListenableFuture<ModelInferResponse> b = async().modelInfer(rows("b", 1, 2, 10));
    a.get(15, TimeUnit.SECONDS);
    b.get(15, TimeUnit.SECONDS);

    assertThat(sawTheOther).containsExactly(true, true);
  }

  @Test
  void streamRequestsShareTheBatcher() throws Exception {
    Doubler d = start("dynamic_batching { }");
    ListenableFuture<ModelInferResponse> first = occupy(d, rows("gate", 1, 2, 0));
    ModelInferRequest s1 = rows("s1", 1, 2, 10);
    ModelInferRequest s2 = rows("s2", 2, 2, 20);
    List<ModelStreamInferResponse> responses = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> out =
        GRPCInferenceServiceGrpc.newStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .modelStreamInfer(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ModelStreamInferResponse value) {
                    responses.add(value);
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(null);
                  }
                });
    out.onNext(s1);
    out.onNext(s2);
    out.onCompleted();
    awaitQueued(2);

    d.release.countDown();
    first.get(10, TimeUnit.SECONDS);
    done.get(10, TimeUnit.SECONDS);

    assertThat(d.batchRows).containsExactly(1, 3);
    assertThat(responses).hasSize(2);
    for (ModelStreamInferResponse r : responses) {
      assertThat(r.getErrorMessage()).isEmpty();
      assertThat(r.getInferResponse().getParametersOrThrow(InferenceService.FINAL_RESPONSE))
          .satisfies(p -> assertThat(p.getBoolParam()).isTrue());
      assertDoubled(r.getInferResponse().getId().equals("s1") ? s1 : s2, r.getInferResponse());
    }
  }
}

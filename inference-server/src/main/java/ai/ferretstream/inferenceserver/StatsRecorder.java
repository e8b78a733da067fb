package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.InferBatchStatistics;
import ai.ferretstream.proto.inference.InferStatistics;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.StatisticDuration;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters behind {@code ModelStatistics} for one model version, with Triton's meaning: {@code
 * inference_count} counts samples (a batch of n counts n), {@code execution_count} counts model
 * executions; durations are cumulative nanoseconds.
 */
final class StatsRecorder {

  /** A count and a cumulative duration. */
  private static final class Duration {
    final AtomicLong count = new AtomicLong();
    final AtomicLong ns = new AtomicLong();

    void add(long nanos) {
      count.incrementAndGet();
      ns.addAndGet(Math.max(0, nanos));
    }

    StatisticDuration proto() {
      return StatisticDuration.newBuilder().setCount(count.get()).setNs(ns.get()).build();
    }
  }

  private static final class Batch {
    final Duration input = new Duration();
    final Duration infer = new Duration();
    final Duration output = new Duration();
  }

  private final AtomicLong inferenceCount = new AtomicLong();
  private final AtomicLong executionCount = new AtomicLong();
  private final AtomicLong lastInferenceMillis = new AtomicLong();
  private final Duration success = new Duration();
  private final Duration fail = new Duration();
  private final Duration queue = new Duration();
  private final Duration computeInput = new Duration();
  private final Duration computeInfer = new Duration();
  private final Duration computeOutput = new Duration();
  private final Map<Long, Batch> batches = new ConcurrentSkipListMap<>();

  /**
   * Records a request that completed.
   *
   * @param batchSize samples in the execution (1 for a non-batching model)
   * @param queueNs from arrival to the start of execution
   * @param inputNs decoding and validating the inputs
   * @param inferNs running the model
   * @param outputNs encoding the outputs
   * @param totalNs from arrival to completion
   */
  void success(
      long batchSize, long queueNs, long inputNs, long inferNs, long outputNs, long totalNs) {
    inferenceCount.addAndGet(batchSize);
    executionCount.incrementAndGet();
    lastInferenceMillis.set(System.currentTimeMillis());
    success.add(totalNs);
    queue.add(queueNs);
    computeInput.add(inputNs);
    computeInfer.add(inferNs);
    computeOutput.add(outputNs);
    Batch b = batches.computeIfAbsent(batchSize, k -> new Batch());
    b.input.add(inputNs);
    b.infer.add(inferNs);
    b.output.add(outputNs);
  }

  /** Records a request that failed after it reached this model. */
  void failure(long totalNs) {
    lastInferenceMillis.set(System.currentTimeMillis());
    fail.add(totalNs);
  }

  ModelStatistics proto(String name, String version) {
    ModelStatistics.Builder b =
        ModelStatistics.newBuilder()
            .setName(name)
            .setVersion(version)
            .setLastInference(lastInferenceMillis.get())
            .setInferenceCount(inferenceCount.get())
            .setExecutionCount(executionCount.get())
            .setInferenceStats(
                InferStatistics.newBuilder()
                    .setSuccess(success.proto())
                    .setFail(fail.proto())
                    .setQueue(queue.proto())
                    .setComputeInput(computeInput.proto())
                    .setComputeInfer(computeInfer.proto())
                    .setComputeOutput(computeOutput.proto()));
    batches.forEach(
        (size, batch) ->
            b.addBatchStats(
                InferBatchStatistics.newBuilder()
                    .setBatchSize(size)
                    .setComputeInput(batch.input.proto())
                    .setComputeInfer(batch.infer.proto())
                    .setComputeOutput(batch.output.proto())));
    return b.build();
  }
}

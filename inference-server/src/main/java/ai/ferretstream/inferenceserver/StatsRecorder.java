package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.InferBatchStatistics;
import ai.ferretstream.proto.inference.InferStatistics;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.StatisticDuration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters behind {@code ModelStatistics} and {@code /metrics} for one model version, with Triton's
 * meaning: {@code inference_count} counts rows (a request of batch n counts n), {@code
 * execution_count} counts model executions (one per batch the scheduler ran); durations are
 * cumulative nanoseconds.
 *
 * <p>{@code inference_stats} is per request: every request adds one to {@code success} or {@code
 * fail}, and a successful one adds its queue time and the compute durations of the batch it ran in
 * (so a batch of 3 requests adds its compute time three times, as in Triton). {@code batch_stats}
 * is per execution, keyed by the batch's row count.
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

  /** A copy of the counters, for the metrics endpoint. */
  record Snapshot(
      long success,
      long successNs,
      long failure,
      long failureNs,
      long queueNs,
      long computeInputNs,
      long computeInferNs,
      long computeOutputNs,
      long inferenceCount,
      long executionCount,
      Map<Long, Long> executionsByBatchSize) {}

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
   * @param rows the request's batch size (1 for a non-batching model)
   * @param queueNs from entering the model's queue to the start of its batch
   * @param inputNs decoding the request's inputs plus assembling its batch
   * @param inferNs running the model on its batch
   * @param outputNs splitting and encoding its batch's outputs
   * @param totalNs from arrival to completion
   */
  void success(long rows, long queueNs, long inputNs, long inferNs, long outputNs, long totalNs) {
    inferenceCount.addAndGet(rows);
    lastInferenceMillis.set(System.currentTimeMillis());
    success.add(totalNs);
    queue.add(queueNs);
    computeInput.add(inputNs);
    computeInfer.add(inferNs);
    computeOutput.add(outputNs);
  }

  /**
   * Records one successful model execution.
   *
   * @param batchSize rows in the batch (the sum over its requests)
   */
  void execution(long batchSize, long inputNs, long inferNs, long outputNs) {
    executionCount.incrementAndGet();
    Batch b = batches.computeIfAbsent(batchSize, k -> new Batch());
    b.input.add(inputNs);
    b.infer.add(inferNs);
    b.output.add(outputNs);
  }

  /** Records a request that failed (or was refused or cancelled) after it reached this model. */
  void failure(long totalNs) {
    lastInferenceMillis.set(System.currentTimeMillis());
    fail.add(totalNs);
  }

  Snapshot snapshot() {
    Map<Long, Long> bySize = new TreeMap<>();
    batches.forEach((size, b) -> bySize.put(size, b.infer.count.get()));
    return new Snapshot(
        success.count.get(),
        success.ns.get(),
        fail.count.get(),
        fail.ns.get(),
        queue.ns.get(),
        computeInput.ns.get(),
        computeInfer.ns.get(),
        computeOutput.ns.get(),
        inferenceCount.get(),
        executionCount.get(),
        bySize);
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

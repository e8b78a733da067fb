package ai.ferretstream.bench;

import ai.ferretstream.boot.inference.TritonChannels;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.ModelSpec;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.encoder.messaging.EncodingPipeline;
import ai.ferretstream.encoder.messaging.TileEncoder;
import ai.ferretstream.inferenceserver.InferenceServer;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;

/**
 * Cross-request batching of the encoder against the inference server with the dev models: for each
 * offered load (tiles/s, open loop, arrivals evenly spaced) and each {@code max-batch-size}, runs
 * the encoder's own {@link EncodingPipeline} and {@link TileEncoder} (Kafka replaced by an
 * in-memory sink, so the figures are batching + gRPC + inference) and reports achieved tiles/s, the
 * mean batch the server executed (from {@code ModelStatistics}), the tiles' queueing delay in the
 * batcher (p50/p99) and their latency from arrival to published features (p50/p99, measured from
 * the scheduled arrival time, so a backlog counts).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar \
 *   ai.ferretstream.bench.EncoderBatchingBench [--model-repository DIR] [--seconds S] \
 *   [--loads 100,400,...] [--batches 1,4,8,16,32] [--delay-ms 5] [--workers 2] [--out FILE]
 * </pre>
 */
public final class EncoderBatchingBench {

  private static final String MODEL = "clip_vision";

  private EncoderBatchingBench() {}

  public static void main(String[] args) throws Exception {
    Path repository = Path.of(arg(args, "--model-repository", "inference-server/model-repository"));
    double seconds = Double.parseDouble(arg(args, "--seconds", "5"));
    int[] loads = ints(arg(args, "--loads", "100,200,400,800"));
    int[] batches = ints(arg(args, "--batches", "1,4,8,16,32"));
    Duration delay = Duration.ofMillis(Long.parseLong(arg(args, "--delay-ms", "5")));
    int workers = Integer.parseInt(arg(args, "--workers", "2"));
    Path out = Path.of(arg(args, "--out", "target/bench/encoder-batching.md"));

    List<String> rows = new ArrayList<>();
    try (InferenceServer server = InferenceServer.start(repository, 0)) {
      ManagedChannel channel =
          TritonChannels.create("localhost:" + server.port(), 256 << 20, Duration.ofSeconds(30), 4);
      try {
        TritonClient client =
            new TritonClient(
                channel,
                new ModelSpec(MODEL, "", "pixels", "features", 336, 24),
                Duration.ofSeconds(30));
        run(client, channel, 50, 8, delay, workers, 2.0); // warm-up: JIT and ONNX Runtime
        for (int load : loads) {
          for (int batch : batches) {
            Result r = run(client, channel, load, batch, delay, workers, seconds);
            String row =
                String.format(
                    Locale.ROOT,
                    "| %d | %d | %.1f | %.2f | %.2f | %.2f / %.2f | %.1f / %.1f |",
                    load,
                    batch,
                    r.tilesPerSecond,
                    r.serverMeanBatch,
                    r.encoderMeanBatch,
                    r.queueP50Ms,
                    r.queueP99Ms,
                    r.latencyP50Ms,
                    r.latencyP99Ms);
            System.out.println(row);
            rows.add(row);
          }
        }
      } finally {
        channel.shutdownNow();
      }
    }
    StringBuilder md = new StringBuilder();
    md.append("| offered tiles/s | max-batch-size | achieved tiles/s | mean batch (server) |")
        .append(" mean batch (encoder) | queue delay p50 / p99 ms | latency p50 / p99 ms |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|\n");
    rows.forEach(r -> md.append(r).append('\n'));
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, md.toString());
    System.out.println("wrote " + out);
  }

  private record Result(
      double tilesPerSecond,
      double serverMeanBatch,
      double encoderMeanBatch,
      double queueP50Ms,
      double queueP99Ms,
      double latencyP50Ms,
      double latencyP99Ms) {}

  private static Result run(
      TritonClient client,
      ManagedChannel channel,
      int load,
      int maxBatch,
      Duration delay,
      int workers,
      double seconds)
      throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    ConcurrentHashMap<String, Long> arrivals = new ConcurrentHashMap<>();
    io.micrometer.core.instrument.Timer latency =
        io.micrometer.core.instrument.Timer.builder("bench.latency")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    AtomicLong published = new AtomicLong();
    KafkaOperations<String, Object> sink = sink(arrivals, latency, published);
    TileEncoder encoder =
        new TileEncoder(
            client,
            EncoderRole.GLOBAL,
            sink,
            new TopicCatalog("bench."),
            Duration.ofSeconds(10),
            "bench",
            Clock.systemUTC(),
            meters,
            (record, e) -> System.err.println("gave up a tile: " + e.getMessage()),
            0,
            Duration.ofMillis(10),
            id -> false,
            Runnable::run,
            null,
            null);
    OffsetTracker tracker = new OffsetTracker();
    int capacity = 8 * maxBatch;
    EncodingPipeline pipeline =
        new EncodingPipeline(
            encoder,
            tracker,
            maxBatch,
            delay,
            workers,
            4,
            capacity,
            Duration.ofMillis(100),
            Duration.ofSeconds(30),
            meters);
    ModelStatistics before = statistics(channel);
    pipeline.start();
    ByteString pixels = ByteString.copyFrom(new byte[336 * 336 * 3]);
    SourcePartition partition = new SourcePartition("bench.tiles", 0);
    long total = Math.round(load * seconds);
    long interval = TimeUnit.SECONDS.toNanos(1) / load;
    long start = System.nanoTime();
    for (long n = 0; n < total; n++) {
      long due = start + n * interval;
      long wait;
      while ((wait = due - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.sleep(Math.min(wait, 1_000_000));
      }
      while (pipeline.paused() || pipeline.queued() >= capacity) {
        Thread.sleep(0, 200_000); // what a paused Kafka consumer does: leave it in the topic
      }
      String id = "r" + n;
      arrivals.put(id, due);
      Tile tile =
          Tile.newBuilder()
              .setContext(RequestContext.newBuilder().setRequestId(id))
              .setKind(TileKind.TILE_KIND_GLOBAL)
              .setWidth(336)
              .setHeight(336)
              .setRgb(pixels)
              .build();
      tracker.hold(partition, n);
      pipeline.submit(new ConsumerRecord<>("bench.tiles", 0, n, id, tile), partition);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (published.get() < total && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    pipeline.stop();
    ModelStatistics after = statistics(channel);
    long executions = after.getExecutionCount() - before.getExecutionCount();
    long inferences = after.getInferenceCount() - before.getInferenceCount();
    HistogramSnapshot queue = meters.get("ferret.encoder.queue.delay").timer().takeSnapshot();
    HistogramSnapshot lat = latency.takeSnapshot();
    return new Result(
        published.get() / elapsed,
        executions == 0 ? 0 : (double) inferences / executions,
        meters.get("ferret.encoder.batch.size").summary().mean(),
        percentileMs(queue, 0.5),
        percentileMs(queue, 0.99),
        percentileMs(lat, 0.5),
        percentileMs(lat, 0.99));
  }

  private static double percentileMs(HistogramSnapshot snapshot, double p) {
    for (ValueAtPercentile v : snapshot.percentileValues()) {
      if (v.percentile() == p) {
        return v.value(TimeUnit.MILLISECONDS);
      }
    }
    return Double.NaN;
  }

  private static ModelStatistics statistics(ManagedChannel channel) {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .modelStatistics(ModelStatisticsRequest.newBuilder().setName(MODEL).build())
        .getModelStats(0);
  }

  /** A KafkaOperations that only acknowledges sends, timing the features' arrival. */
  @SuppressWarnings("unchecked")
  private static KafkaOperations<String, Object> sink(
      ConcurrentHashMap<String, Long> arrivals,
      io.micrometer.core.instrument.Timer latency,
      AtomicLong published) {
    return (KafkaOperations<String, Object>)
        Proxy.newProxyInstance(
            EncoderBatchingBench.class.getClassLoader(),
            new Class<?>[] {KafkaOperations.class},
            (proxy, method, args) -> {
              if (method.getName().equals("send")
                  && args.length == 1
                  && args[0] instanceof ProducerRecord<?, ?> record) {
                // the feature records (not their notices) count as published
                if (record.topic().endsWith(".ferret.features")
                    && record.value() instanceof TileFeatures features) {
                  Long arrived = arrivals.remove(features.getContext().getRequestId());
                  if (arrived != null) {
                    latency.record(System.nanoTime() - arrived, TimeUnit.NANOSECONDS);
                  }
                  published.incrementAndGet();
                }
                @SuppressWarnings("unchecked")
                ProducerRecord<String, Object> sent = (ProducerRecord<String, Object>) record;
                return CompletableFuture.completedFuture(
                    new SendResult<>(
                        sent,
                        new RecordMetadata(new TopicPartition(record.topic(), 0), 0, 0, 0L, 0, 0)));
              }
              throw new UnsupportedOperationException(method.getName());
            });
  }

  private static String arg(String[] args, String name, String fallback) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return fallback;
  }

  private static int[] ints(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
  }
}

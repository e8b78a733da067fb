package ai.ferretstream.inferenceserver;

import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.ToLongFunction;

/**
 * {@code GET /metrics} in the Prometheus text format (version 0.0.4) on the JDK's HTTP server. Per
 * model version it serves Triton's metric names, types and units ({@code
 * nv_inference_request_success}, {@code nv_inference_queue_duration_us}, … with labels {@code
 * model} and {@code version}), so dashboards and autoscaling rules written for Triton work
 * unchanged, plus a histogram of the executed batch sizes ({@code ferret_inference_batch_size}).
 *
 * <p>The same port answers Triton's HTTP health paths, for container health checks and Kubernetes
 * probes: {@code GET /v2/health/live} (200 while the process serves) and {@code GET
 * /v2/health/ready} (200 once every model is loaded, 503 before and while closing).
 */
final class MetricsEndpoint implements AutoCloseable {

  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;

  private MetricsEndpoint(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Serves the metrics of {@code registry} on {@code port} (all interfaces; 0 = any free port).
   *
   * @throws IOException when the port cannot be bound
   */
  static MetricsEndpoint start(int port, ModelRegistry registry) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "inference-metrics");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/", exchange -> handle(exchange, registry));
    server.start();
    return new MetricsEndpoint(server, executor);
  }

  private static void handle(HttpExchange exchange, ModelRegistry registry) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      boolean read =
          "GET".equals(exchange.getRequestMethod()) || "HEAD".equals(exchange.getRequestMethod());
      if (read && "/v2/health/live".equals(path)) {
        reply(exchange, 200, "live\n");
      } else if (read && "/v2/health/ready".equals(path)) {
        boolean ready = registry.serverReady();
        reply(exchange, ready ? 200 : 503, ready ? "ready\n" : "not ready: models loading\n");
      } else if (!"/metrics".equals(path)) {
        reply(exchange, 404, "not found: the metrics are at /metrics\n");
      } else if (!"GET".equals(exchange.getRequestMethod())
          && !"HEAD".equals(exchange.getRequestMethod())) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        reply(exchange, 405, "use GET\n");
      } else {
        exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
        byte[] body = render(registry).getBytes(StandardCharsets.UTF_8);
        if ("HEAD".equals(exchange.getRequestMethod())) {
          exchange.sendResponseHeaders(200, -1);
        } else {
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        }
      }
    }
  }

  private static void reply(HttpExchange exchange, int code, String text) throws IOException {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(code, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** The bound port. */
  int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** One model version's numbers at scrape time. */
  private record Sample(Slot slot, StatsRecorder.Snapshot stats, int pending) {
    String labels() {
      return "model=\"" + escape(slot.name) + "\",version=\"" + escape(slot.version) + "\"";
    }
  }

  /** The exposition text for every model version of the registry. */
  static String render(ModelRegistry registry) {
    List<Sample> samples = new ArrayList<>();
    for (Slot s : registry.allSlots()) {
      if (!s.version.isEmpty()) {
        ModelScheduler scheduler = s.scheduler();
        samples.add(new Sample(s, s.stats.snapshot(), scheduler == null ? 0 : scheduler.queued()));
      }
    }
    StringBuilder b = new StringBuilder();
    counter(
        b,
        samples,
        "nv_inference_request_success",
        "Number of successful inference requests, all batch sizes",
        x -> x.stats().success());
    counter(
        b,
        samples,
        "nv_inference_request_failure",
        "Number of failed inference requests (invalid, refused, cancelled or failed), all batch"
            + " sizes",
        x -> x.stats().failure());
    counter(
        b,
        samples,
        "nv_inference_count",
        "Number of inferences performed (a request of batch n counts n)",
        x -> x.stats().inferenceCount());
    counter(
        b,
        samples,
        "nv_inference_exec_count",
        "Number of model executions performed (batches)",
        x -> x.stats().executionCount());
    counter(
        b,
        samples,
        "nv_inference_request_duration_us",
        "Cumulative duration of successful inference requests, arrival to response, in"
            + " microseconds",
        x -> x.stats().successNs() / 1000);
    counter(
        b,
        samples,
        "nv_inference_queue_duration_us",
        "Cumulative time successful requests waited in the scheduler queue, in microseconds",
        x -> x.stats().queueNs() / 1000);
    counter(
        b,
        samples,
        "nv_inference_compute_input_duration_us",
        "Cumulative compute input duration (decoding, batch assembly), in microseconds",
        x -> x.stats().computeInputNs() / 1000);
    counter(
        b,
        samples,
        "nv_inference_compute_infer_duration_us",
        "Cumulative compute inference duration, in microseconds",
        x -> x.stats().computeInferNs() / 1000);
    counter(
        b,
        samples,
        "nv_inference_compute_output_duration_us",
        "Cumulative compute output duration (splitting, encoding), in microseconds",
        x -> x.stats().computeOutputNs() / 1000);
    header(
        b,
        "nv_inference_pending_request_count",
        "gauge",
        "Requests queued for the model and not yet executing");
    for (Sample x : samples) {
      line(b, "nv_inference_pending_request_count", x.labels(), x.pending());
    }
    header(
        b,
        "ferret_inference_batch_size",
        "histogram",
        "Rows in each model execution (the dynamic batcher's batch sizes)");
    for (Sample x : samples) {
      histogram(b, x);
    }
    return b.toString();
  }

  private static void histogram(StringBuilder b, Sample x) {
    Map<Long, Long> bySize = x.stats().executionsByBatchSize();
    TreeSet<Long> bounds = new TreeSet<>();
    long max = Math.max(1, x.slot().config.getMaxBatchSize());
    for (long le = 1; le < max; le *= 2) {
      bounds.add(le);
    }
    bounds.add(max);
    long count = 0;
    long sum = 0;
    for (Map.Entry<Long, Long> e : bySize.entrySet()) {
      count += e.getValue();
      sum += e.getKey() * e.getValue();
    }
    for (long le : bounds) {
      long cumulative =
          bySize.entrySet().stream()
              .filter(e -> e.getKey() <= le)
              .mapToLong(Map.Entry::getValue)
              .sum();
      line(b, "ferret_inference_batch_size_bucket", x.labels() + ",le=\"" + le + "\"", cumulative);
    }
    line(b, "ferret_inference_batch_size_bucket", x.labels() + ",le=\"+Inf\"", count);
    line(b, "ferret_inference_batch_size_sum", x.labels(), sum);
    line(b, "ferret_inference_batch_size_count", x.labels(), count);
  }

  private static void counter(
      StringBuilder b, List<Sample> samples, String name, String help, ToLongFunction<Sample> v) {
    header(b, name, "counter", help);
    for (Sample x : samples) {
      line(b, name, x.labels(), v.applyAsLong(x));
    }
  }

  private static void header(StringBuilder b, String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n');
    b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void line(StringBuilder b, String name, String labels, long value) {
    b.append(name).append('{').append(labels).append("} ").append(value).append('\n');
  }

  /** A label value with backslash, double quote and newline escaped. */
  static String escape(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}

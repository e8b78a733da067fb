package ai.ferretstream.bench;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.InferStatistics;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Load driver for a running stack ({@code ./ferret up}): sends OpenAI chat-completion requests with
 * one image at a fixed concurrency and prints one JSON object for the phase — client latency
 * percentiles, throughput, errors, the p50 of every {@code ferret_timings} stage, and, as deltas
 * over the measured requests (warm-up excluded), the inference server's model compute ({@code
 * ModelStatistics}), the Kafka log bytes ({@code describeLogDirs}), the JVM's allocation and GC
 * pauses (the gateway's {@code /actuator/prometheus}) and the stack process's CPU time ({@code
 * /proc/PID/stat}). Run by {@code scripts/bench-pipeline.sh}; every source that cannot be read is
 * reported as an {@code error} field, never a crash.
 *
 * <p>Each request carries an image of its own: the same pixels with a PNG text chunk numbering it,
 * so that a stack with the feature cache (ADR 0018) tiles and encodes every request, as it does new
 * images. {@code --same-image} sends one image throughout.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar ai.ferretstream.bench.PipelineLoad \
 *   --url http://localhost:8080 [--bootstrap localhost:9092] [--grpc localhost:8001] [--pid PID] \
 *   [--image FILE | --image-size 960x640] [--concurrency 1] [--requests 20] [--warmup 3] \
 *   [--stream] [--same-image] [--timeout-s 120] [--phase-timeout-s 600] [--phase NAME] \
 *   [--out FILE]
 * java -cp ... PipelineLoad --image-size 960x640 --write-image FILE   (the synthetic PNG only)
 * java -cp ... PipelineLoad --url URL --wait-ready 180               (exit 0 once one answer came)
 * </pre>
 */
public final class PipelineLoad {

  private static final String QUESTION = "Where is the red object?";
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Pattern PROM_LINE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})?\\s+(\\S+)");
  private static final Pattern PROM_CAUSE = Pattern.compile("cause=\"([^\"]*)\"");

  private PipelineLoad() {}

  /** The outcome of one request. */
  private record Result(
      int status,
      String error,
      long latencyNs,
      long firstContentNs,
      int contentChunks,
      Map<String, Long> timings,
      String content) {

    boolean ok() {
      return status == 200 && error == null;
    }
  }

  /** Counters read before and after the measured requests. */
  private record Snapshot(
      long epochMillis,
      Map<String, long[]> models,
      String modelsError,
      Map<String, Long> kafkaBytesByTopic,
      String kafkaError,
      Map<String, Double> prometheus,
      String prometheusError,
      long cpuTicks,
      String cpuError,
      long machineBusyTicks,
      long selfTicks,
      Map<String, Long> threadTicks,
      Map<String, Long> broker,
      String brokerError) {}

  public static void main(String[] args) throws Exception {
    quietLogging();
    Map<String, String> opts = parse(args);
    int code;
    try {
      code = run(opts);
    } catch (IllegalArgumentException e) {
      System.err.println("PipelineLoad: " + e.getMessage());
      code = 2;
    }
    System.out.flush();
    // the HTTP client, gRPC and Kafka keep non-daemon threads: leave now
    System.exit(code);
  }

  private static int run(Map<String, String> opts) throws Exception {
    byte[] png = image(opts);
    if (opts.containsKey("write-image")) {
      Files.write(Path.of(opts.get("write-image")), png);
      return 0;
    }
    String url = require(opts, "url");
    Duration timeout = Duration.ofSeconds(Long.parseLong(opts.getOrDefault("timeout-s", "120")));
    ExecutorService httpPool = Executors.newFixedThreadPool(4);
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .executor(httpPool)
            .build();
    String question = opts.getOrDefault("question", QUESTION);
    boolean stream = opts.containsKey("stream");
    byte[] body = requestBody(png, question, stream);
    // every request a new image (the same pixels, a PNG text chunk of its own), so a stack with
    // the feature cache (ADR 0018) takes the full path as it does for new images; --same-image
    // sends one body throughout (then such a stack answers from its cache)
    java.util.function.IntFunction<byte[]> bodies =
        opts.containsKey("same-image")
            ? i -> body
            : i -> requestBody(Pngs.unique(png, UNIQUE.incrementAndGet()), question, stream);
    URI endpoint = URI.create(url + "/v1/chat/completions");

    if (opts.containsKey("wait-ready")) {
      return waitReady(http, url, endpoint, body, stream, opts);
    }

    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "1"));
    int requests = Integer.parseInt(opts.getOrDefault("requests", "20"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "3"));
    long phaseTimeoutMs = 1000L * Long.parseLong(opts.getOrDefault("phase-timeout-s", "600"));
    if (concurrency < 1 || requests < 0 || warmup < 0) {
      throw new IllegalArgumentException("concurrency must be >= 1, requests and warmup >= 0");
    }

    ManagedChannel channel =
        opts.containsKey("grpc")
            ? ManagedChannelBuilder.forTarget(opts.get("grpc"))
                .usePlaintext()
                .maxInboundMessageSize(64 << 20)
                .build()
            : null;
    Admin admin = opts.containsKey("bootstrap") ? admin(opts.get("bootstrap")) : null;
    long pid = Long.parseLong(opts.getOrDefault("pid", "-1"));
    try {
      long warmStart = System.nanoTime();
      List<Result> warm =
          load(http, endpoint, bodies, stream, concurrency, warmup, timeout, phaseTimeoutMs);
      long warmNs = System.nanoTime() - warmStart;

      Snapshot before = snapshot(channel, admin, http, url, pid, true);
      long start = System.nanoTime();
      List<Result> results =
          load(http, endpoint, bodies, stream, concurrency, requests, timeout, phaseTimeoutMs);
      long wallNs = System.nanoTime() - start;
      Snapshot after = snapshot(channel, admin, http, url, pid, false);

      String json =
          report(
              opts,
              png,
              concurrency,
              requests,
              stream,
              warm,
              warmNs,
              results,
              wallNs,
              before,
              after);
      System.out.println("PHASE_JSON " + json);
      if (opts.containsKey("out")) {
        Files.writeString(
            Path.of(opts.get("out")),
            json + "\n",
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      }
      return 0;
    } finally {
      if (admin != null) {
        admin.close(Duration.ofSeconds(5));
      }
      if (channel != null) {
        channel.shutdownNow();
      }
      httpPool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // load

  /**
   * Sends {@code total} requests from {@code concurrency} workers (each waits for its answer before
   * sending the next); stops picking new ones once {@code phaseTimeoutMs} has passed.
   */
  private static List<Result> load(
      HttpClient http,
      URI endpoint,
      java.util.function.IntFunction<byte[]> bodies,
      boolean stream,
      int concurrency,
      int total,
      Duration timeout,
      long phaseTimeoutMs)
      throws InterruptedException {
    if (total == 0) {
      return List.of();
    }
    List<Result> results = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger next = new AtomicInteger();
    long deadline = System.currentTimeMillis() + phaseTimeoutMs;
    int workers = Math.min(concurrency, total);
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    for (int w = 0; w < workers; w++) {
      pool.execute(
          () -> {
            int i;
            while ((i = next.getAndIncrement()) < total && System.currentTimeMillis() < deadline) {
              results.add(send(http, endpoint, bodies.apply(i), stream, timeout));
            }
          });
    }
    pool.shutdown();
    if (!pool.awaitTermination(
        phaseTimeoutMs + timeout.toMillis() + 10_000, TimeUnit.MILLISECONDS)) {
      pool.shutdownNow();
    }
    synchronized (results) {
      return new ArrayList<>(results);
    }
  }

  private static Result send(
      HttpClient http, URI endpoint, byte[] body, boolean stream, Duration timeout) {
    HttpRequest request =
        HttpRequest.newBuilder(endpoint)
            .header("Content-Type", "application/json")
            .header("Accept", stream ? "text/event-stream" : "application/json")
            .timeout(timeout)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    long t0 = System.nanoTime();
    CompletableFuture<? extends HttpResponse<?>> future = null;
    try {
      if (stream) {
        SseLines lines = new SseLines(t0);
        CompletableFuture<HttpResponse<SseLines>> f =
            http.sendAsync(
                request, HttpResponse.BodyHandlers.fromLineSubscriber(lines, s -> s, "\n"));
        future = f;
        HttpResponse<SseLines> response = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        long latency = System.nanoTime() - t0;
        SseLines s = response.body();
        String error =
            response.statusCode() != 200
                ? "http " + response.statusCode()
                : s.error != null ? s.error : s.done ? null : "stream ended without [DONE]";
        return new Result(
            response.statusCode(),
            error,
            latency,
            s.firstContentNs,
            s.chunks,
            s.timings,
            s.content.toString());
      }
      CompletableFuture<HttpResponse<String>> f =
          http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      future = f;
      HttpResponse<String> response = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      long latency = System.nanoTime() - t0;
      if (response.statusCode() != 200) {
        return new Result(
            response.statusCode(), "http " + response.statusCode(), latency, -1, 0, Map.of(), "");
      }
      JsonNode root = JSON.readTree(response.body());
      Map<String, Long> timings = timings(root.get("ferret_timings"));
      JsonNode message = root.path("choices").path(0).path("message");
      String content = message.path("content").asString("");
      String error = root.has("error") ? "error body: " + root.get("error") : null;
      return new Result(200, error, latency, -1, 0, timings, content);
    } catch (TimeoutException e) {
      if (future != null) {
        future.cancel(true);
      }
      return new Result(-1, "timeout", System.nanoTime() - t0, -1, 0, Map.of(), "");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted", System.nanoTime() - t0, -1, 0, Map.of(), "");
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      return new Result(
          -1, cause.getClass().getSimpleName(), System.nanoTime() - t0, -1, 0, Map.of(), "");
    }
  }

  /** Reads an SSE answer line by line: first content time, content chunks, errors, [DONE]. */
  private static final class SseLines implements Flow.Subscriber<String> {
    private final long t0;
    long firstContentNs = -1;
    int chunks;
    boolean done;
    String error;
    Map<String, Long> timings = Map.of();
    final StringBuilder content = new StringBuilder();

    SseLines(long t0) {
      this.t0 = t0;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (!line.startsWith("data:")) {
        return;
      }
      String data = line.substring(5).trim();
      if (data.equals("[DONE]")) {
        done = true;
        return;
      }
      try {
        JsonNode event = JSON.readTree(data);
        if (event.has("error")) {
          error = "error event: " + event.get("error").path("code").asString("?");
          return;
        }
        if (event.has("ferret_timings")) {
          timings = timings(event.get("ferret_timings"));
        }
        String piece = event.path("choices").path(0).path("delta").path("content").asString("");
        if (!piece.isEmpty()) {
          if (firstContentNs < 0) {
            firstContentNs = System.nanoTime() - t0;
          }
          chunks++;
          content.append(piece);
        }
      } catch (RuntimeException e) {
        error = "unparsable event";
      }
    }

    @Override
    public void onError(Throwable throwable) {
      error = throwable.getClass().getSimpleName();
    }

    @Override
    public void onComplete() {}
  }

  private static Map<String, Long> timings(JsonNode node) {
    if (node == null || !node.isObject()) {
      return Map.of();
    }
    Map<String, Long> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      out.put(e.getKey(), e.getValue().asLong());
    }
    return out;
  }

  /** Polls until one request is answered with 200 (exit 0), or gives up after the timeout (1). */
  private static int waitReady(
      HttpClient http,
      String url,
      URI endpoint,
      byte[] body,
      boolean stream,
      Map<String, String> opts) {
    long deadline = System.currentTimeMillis() + 1000L * Long.parseLong(opts.get("wait-ready"));
    String last = "no attempt";
    while (System.currentTimeMillis() < deadline) {
      Result r = send(http, endpoint, body, stream, Duration.ofSeconds(60));
      if (r.ok()) {
        System.err.printf(
            Locale.ROOT,
            "PipelineLoad: %s answered in %.0f ms: %s%n",
            url,
            r.latencyNs() / 1e6,
            r.content());
        return 0;
      }
      last = r.error();
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      }
    }
    System.err.println("PipelineLoad: no answer from " + url + " (last: " + last + ")");
    return 1;
  }

  // ---------------------------------------------------------------------------------------------
  // counters

  /**
   * Reads every counter. The CPU time and the clock are read next to the load: last before it
   * ({@code beforeLoad}), first after it, so the slower sources do not widen the CPU window.
   */
  private static Snapshot snapshot(
      ManagedChannel channel,
      Admin admin,
      HttpClient http,
      String url,
      long pid,
      boolean beforeLoad) {
    long[] cpu = new long[] {-1, 0, -1, -1};
    String[] cpuError = new String[1];
    Map<String, Long> threads = new HashMap<>();
    Runnable readCpu =
        () -> {
          cpu[1] = System.currentTimeMillis();
          try {
            cpu[2] = machineBusyTicks();
            cpu[3] = cpuTicks(ProcessHandle.current().pid());
          } catch (IOException | RuntimeException e) {
            cpu[2] = -1;
          }
          if (pid <= 0) {
            cpuError[0] = "no --pid";
            return;
          }
          try {
            cpu[0] = cpuTicks(pid);
            threads.putAll(threadTicks(pid));
          } catch (IOException | RuntimeException e) {
            cpuError[0] = e.toString();
          }
        };
    if (!beforeLoad) {
      readCpu.run();
    }
    Map<String, long[]> models = Map.of();
    String modelsError = null;
    if (channel != null) {
      try {
        models = modelCompute(channel);
      } catch (RuntimeException e) {
        modelsError = e.toString();
      }
    } else {
      modelsError = "no --grpc";
    }
    Map<String, Long> kafka = Map.of();
    String kafkaError = null;
    if (admin != null) {
      try {
        kafka = kafkaLogBytes(admin);
      } catch (Exception e) {
        kafkaError = e.toString();
      }
    } else {
      kafkaError = "no --bootstrap";
    }
    Map<String, Double> prometheus = Map.of();
    String prometheusError = null;
    try {
      prometheus = prometheus(http, url);
    } catch (Exception e) {
      prometheusError = e.toString();
    }
    Map<String, Long> broker = Map.of();
    String brokerError = null;
    if (pid > 0) {
      try {
        broker = brokerCounters(pid);
      } catch (Exception e) {
        brokerError = e.toString();
      }
    } else {
      brokerError = "no --pid";
    }
    if (beforeLoad) {
      readCpu.run();
    }
    return new Snapshot(
        cpu[1],
        models,
        modelsError,
        kafka,
        kafkaError,
        prometheus,
        prometheusError,
        cpu[0],
        cpuError[0],
        cpu[2],
        cpu[3],
        threads,
        broker,
        brokerError);
  }

  /**
   * The embedded broker's own counters, read over JMX from the stack's JVM (attach API): requests
   * by type ({@code requests:Fetch}, ...) and bytes sent to consumers by topic ({@code
   * bytes_out:ferret.features}, ...), empty when the stack's broker is not in that JVM; and the
   * bytes each live thread of that JVM has allocated ({@code alloc:<id>:<name>}, HotSpot's
   * per-thread counter), for allocation by thread group.
   */
  private static Map<String, Long> brokerCounters(long pid) throws Exception {
    com.sun.tools.attach.VirtualMachine vm =
        com.sun.tools.attach.VirtualMachine.attach(Long.toString(pid));
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    Map<String, Long> out = new TreeMap<>();
    try (javax.management.remote.JMXConnector connector =
        javax.management.remote.JMXConnectorFactory.connect(
            new javax.management.remote.JMXServiceURL(address))) {
      javax.management.MBeanServerConnection server = connector.getMBeanServerConnection();
      for (javax.management.ObjectName name :
          server.queryNames(
              new javax.management.ObjectName(
                  "kafka.network:type=RequestMetrics,name=RequestsPerSec,*"),
              null)) {
        String request = name.getKeyProperty("request");
        if (request.startsWith("Fetch") && !request.equals("Fetch")) {
          continue; // FetchConsumer, FetchFollower: parts of Fetch
        }
        out.merge(
            "requests:" + request,
            ((Number) server.getAttribute(name, "Count")).longValue(),
            Long::sum);
      }
      for (javax.management.ObjectName name :
          server.queryNames(
              new javax.management.ObjectName(
                  "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=*"),
              null)) {
        out.put(
            "bytes_out:" + name.getKeyProperty("topic"),
            ((Number) server.getAttribute(name, "Count")).longValue());
      }
      javax.management.ObjectName threading =
          new javax.management.ObjectName(
              java.lang.management.ManagementFactory.THREAD_MXBEAN_NAME);
      long[] ids = (long[]) server.getAttribute(threading, "AllThreadIds");
      long[] allocated =
          (long[])
              server.invoke(
                  threading, "getThreadAllocatedBytes", new Object[] {ids}, new String[] {"[J"});
      javax.management.openmbean.CompositeData[] infos =
          (javax.management.openmbean.CompositeData[])
              server.invoke(threading, "getThreadInfo", new Object[] {ids}, new String[] {"[J"});
      for (int i = 0; i < ids.length; i++) {
        if (infos[i] != null && allocated[i] >= 0) {
          out.put("alloc:" + ids[i] + ":" + infos[i].get("threadName"), allocated[i]);
        }
      }
    }
    return out;
  }

  /** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
  private static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    // the command name (field 2) may contain spaces: count from the closing parenthesis
    String[] rest = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return Long.parseLong(rest[11]) + Long.parseLong(rest[12]);
  }

  /**
   * utime + stime of each thread of a process, keyed {@code tid:name} ({@code /proc/PID/task}; the
   * kernel keeps 15 characters of a thread's name). A thread that ends between two reads is gone
   * from the second: its time is lost to the breakdown, not to the process total.
   */
  private static Map<String, Long> threadTicks(long pid) throws IOException {
    Map<String, Long> out = new HashMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        String[] rest = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        out.put(
            task.getFileName() + ":" + name, Long.parseLong(rest[11]) + Long.parseLong(rest[12]));
      }
    }
    return out;
  }

  /** Thread groups of the one-JVM stack by thread name: the first pattern that matches. */
  private static final List<Map.Entry<String, java.util.regex.Pattern>> THREAD_GROUPS =
      List.of(
          group(
              "Kafka broker (embedded)",
              "data-plane|kafka-\\d|raft|quorum|group-coord|share-coord|broker-|ExpirationReap"
                  + "|executor-|kafka-sched|kafka-log|LogDir|controller|metrics-meter|transaction"
                  + "|TxnMarker|ReplicaFetcher"),
          group("dev inference server (ONNX Runtime, scheduling)", "model-|inference-"),
          group("gRPC transport (Netty, clients and server)", "grpc-"),
          group("Kafka producer I/O (all services)", "kafka-producer"),
          group("gateway", "http-nio|gateway|image-fetch"),
          group("tiler", "tiler"),
          group("ForkJoin common pool (the tiler's parallel resize, among others)", "ForkJoinPool"),
          group("encoder", "encoder"),
          group("fusion", "fusion"),
          group("llm", "llm"),
          group("JIT compilers", "C1 Compiler|C2 Compiler"),
          group("GC", "GC Thread|G1 |VM Thread"));

  private static Map.Entry<String, java.util.regex.Pattern> group(String name, String regex) {
    return Map.entry(name, java.util.regex.Pattern.compile("^(" + regex + ")"));
  }

  static String threadGroup(String threadName) {
    for (Map.Entry<String, java.util.regex.Pattern> g : THREAD_GROUPS) {
      if (g.getValue().matcher(threadName).find()) {
        return g.getKey();
      }
    }
    return "other";
  }

  /** Busy time of all CPUs (user, nice, system, irq, softirq, steal), in clock ticks. */
  private static long machineBusyTicks() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
      if (line.startsWith("cpu ")) {
        String[] f = line.trim().split("\\s+");
        long busy = 0;
        for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
          busy += i < f.length ? Long.parseLong(f[i]) : 0;
        }
        return busy;
      }
    }
    throw new IOException("no cpu line in /proc/stat");
  }

  /**
   * Per model: {successful requests, compute input + infer + output ns (Triton's meaning), queue
   * ns, ns of the successful requests in the server from arrival to response}.
   */
  private static Map<String, long[]> modelCompute(ManagedChannel channel) {
    Map<String, long[]> out = new TreeMap<>();
    for (ModelStatistics m :
        GRPCInferenceServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .modelStatistics(ModelStatisticsRequest.getDefaultInstance())
            .getModelStatsList()) {
      InferStatistics s = m.getInferenceStats();
      long ns =
          s.getComputeInput().getNs() + s.getComputeInfer().getNs() + s.getComputeOutput().getNs();
      long[] sum = out.computeIfAbsent(m.getName(), k -> new long[4]);
      sum[0] += s.getSuccess().getCount();
      sum[1] += ns;
      sum[2] += s.getQueue().getNs();
      sum[3] += s.getSuccess().getNs();
    }
    return out;
  }

  private static Admin admin(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "ferret-bench-pipeline");
    return Admin.create(p);
  }

  /** Sum of the partition sizes of every topic on every broker, by topic. */
  private static Map<String, Long> kafkaLogBytes(Admin admin) throws Exception {
    Collection<Node> nodes = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
    List<Integer> ids = nodes.stream().map(Node::id).toList();
    Map<Integer, Map<String, LogDirDescription>> dirs =
        admin.describeLogDirs(ids).allDescriptions().get(15, TimeUnit.SECONDS);
    Map<String, Long> byTopic = new TreeMap<>();
    for (Map<String, LogDirDescription> perBroker : dirs.values()) {
      for (LogDirDescription dir : perBroker.values()) {
        for (Map.Entry<TopicPartition, ReplicaInfo> e : dir.replicaInfos().entrySet()) {
          byTopic.merge(e.getKey().topic(), e.getValue().size(), Long::sum);
        }
      }
    }
    return byTopic;
  }

  /**
   * The JVM-wide counters of the gateway's Prometheus endpoint (all services share the JVM): {@code
   * alloc} (jvm_gc_memory_allocated_bytes_total), {@code count:CAUSE} and {@code sum:CAUSE}
   * (jvm_gc_pause_seconds count and sum, by cause).
   */
  private static Map<String, Double> prometheus(HttpClient http, String url) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(url + "/actuator/prometheus"))
                .timeout(Duration.ofSeconds(15))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET /actuator/prometheus: http " + response.statusCode());
    }
    Map<String, Double> out = new TreeMap<>();
    for (String line : response.body().split("\n")) {
      if (line.startsWith("#")) {
        continue;
      }
      Matcher m = PROM_LINE.matcher(line);
      if (!m.find()) {
        continue;
      }
      String name = m.group(1);
      String labels = m.group(3) == null ? "" : m.group(3);
      double value;
      try {
        value = Double.parseDouble(m.group(4));
      } catch (NumberFormatException e) {
        continue;
      }
      if (name.equals("jvm_gc_memory_allocated_bytes_total")) {
        out.merge("alloc", value, Double::sum);
      } else if (name.equals("jvm_gc_pause_seconds_count")
          || name.equals("jvm_gc_pause_seconds_sum")) {
        Matcher c = PROM_CAUSE.matcher(labels);
        String cause = c.find() ? c.group(1) : "?";
        String kind = name.endsWith("_count") ? "count:" : "sum:";
        out.merge(kind + cause, value, Double::sum);
      }
    }
    if (!out.containsKey("alloc")) {
      throw new IOException("no jvm_gc_memory_allocated_bytes_total in /actuator/prometheus");
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // output

  private static String report(
      Map<String, String> opts,
      byte[] png,
      int concurrency,
      int requested,
      boolean stream,
      List<Result> warm,
      long warmNs,
      List<Result> results,
      long wallNs,
      Snapshot before,
      Snapshot after) {
    Json j = new Json();
    j.str("phase", opts.getOrDefault("phase", "phase"));
    j.str("image", opts.getOrDefault("image", opts.getOrDefault("image-size", "960x640")));
    j.num("image_bytes", png.length);
    j.num("concurrency", concurrency);
    j.bool("stream", stream);
    j.num("warmup_requests", warm.size());
    j.num("warmup_errors", warm.stream().filter(r -> !r.ok()).count());
    j.num("warmup_s", warmNs / 1e9);
    j.num("requests_asked", requested);
    j.num("requests_sent", results.size());
    List<Result> ok = results.stream().filter(Result::ok).toList();
    j.num("ok", ok.size());
    j.num("errors", results.size() - ok.size());
    Map<String, Integer> byError = new TreeMap<>();
    for (Result r : results) {
      if (!r.ok()) {
        byError.merge(r.error(), 1, Integer::sum);
      }
    }
    j.obj("errors_by_kind", byError);
    j.num("start_epoch_ms", before.epochMillis());
    j.num("end_epoch_ms", after.epochMillis());
    j.num("wall_s", wallNs / 1e9);
    j.num("req_per_s", results.isEmpty() ? 0 : ok.size() / (wallNs / 1e9));
    List<Double> lat = ok.stream().map(r -> r.latencyNs() / 1e6).sorted().toList();
    Map<String, Double> latency = new LinkedHashMap<>();
    latency.put("p50", pct(lat, 50));
    latency.put("p90", pct(lat, 90));
    latency.put("p99", pct(lat, 99));
    latency.put("mean", lat.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
    latency.put("min", lat.isEmpty() ? Double.NaN : lat.get(0));
    latency.put("max", lat.isEmpty() ? Double.NaN : lat.get(lat.size() - 1));
    j.obj("latency_ms", latency);
    if (stream) {
      List<Double> first =
          ok.stream()
              .filter(r -> r.firstContentNs() >= 0)
              .map(r -> r.firstContentNs() / 1e6)
              .sorted()
              .toList();
      j.num("first_content_p50_ms", pct(first, 50));
      j.num(
          "content_chunks_p50",
          pct(ok.stream().map(r -> (double) r.contentChunks()).sorted().toList(), 50));
    }
    // the llm's part of each request, its queueing included: fusion.done -> llm.done
    List<Double> llmStage =
        ok.stream()
            .filter(
                r -> r.timings().containsKey("fusion.done") && r.timings().containsKey("llm.done"))
            .map(r -> (double) (r.timings().get("llm.done") - r.timings().get("fusion.done")))
            .sorted()
            .toList();
    if (!llmStage.isEmpty()) {
      Map<String, Double> llm = new LinkedHashMap<>();
      llm.put("p50", pct(llmStage, 50));
      llm.put("max", llmStage.get(llmStage.size() - 1));
      j.obj("llm_stage_ms", llm);
    }
    // p50 of every stage key, in order of the p50
    Map<String, List<Double>> stages = new HashMap<>();
    for (Result r : ok) {
      r.timings().forEach((k, v) -> stages.computeIfAbsent(k, x -> new ArrayList<>()).add(v * 1.0));
    }
    Map<String, Double> stageP50 = new LinkedHashMap<>();
    stages.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), pct(e.getValue().stream().sorted().toList(), 50)))
        .sorted(
            Map.Entry.<String, Double>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .forEach(e -> stageP50.put(e.getKey(), e.getValue()));
    j.obj("stages_p50_ms", stageP50);
    j.str("sample_answer", ok.isEmpty() ? "" : ok.get(ok.size() - 1).content());

    double n = ok.size();
    // model compute
    if (before.modelsError() == null && after.modelsError() == null) {
      Map<String, Double> perModel = new TreeMap<>();
      Map<String, Double> perModelRequests = new TreeMap<>();
      Map<String, Double> perModelQueue = new TreeMap<>();
      Map<String, Double> perModelInServer = new TreeMap<>();
      double totalNs = 0;
      for (Map.Entry<String, long[]> e : after.models().entrySet()) {
        long[] b = before.models().getOrDefault(e.getKey(), new long[4]);
        double ns = e.getValue()[1] - b[1];
        totalNs += ns;
        perModel.put(e.getKey(), ns / 1e6);
        perModelRequests.put(e.getKey(), (double) (e.getValue()[0] - b[0]));
        perModelQueue.put(e.getKey(), (e.getValue()[2] - b[2]) / 1e6);
        perModelInServer.put(e.getKey(), (e.getValue()[3] - b[3]) / 1e6);
      }
      j.obj("model_compute_ms_by_model", perModel);
      j.obj("model_requests_by_model", perModelRequests);
      // where a model call's time in the server goes besides compute (all requests summed)
      j.obj("model_queue_ms_by_model", perModelQueue);
      j.obj("model_in_server_ms_by_model", perModelInServer);
      j.num("model_compute_ms_per_request", n > 0 ? totalNs / 1e6 / n : Double.NaN);
    } else {
      j.str("model_error", String.valueOf(after.modelsError()));
    }
    // Kafka
    if (before.kafkaError() == null && after.kafkaError() == null) {
      Map<String, Double> perTopic = new TreeMap<>();
      long total = 0;
      for (Map.Entry<String, Long> e : after.kafkaBytesByTopic().entrySet()) {
        long d = e.getValue() - before.kafkaBytesByTopic().getOrDefault(e.getKey(), 0L);
        total += d;
        if (d != 0) {
          perTopic.put(e.getKey(), n > 0 ? d / n : Double.NaN);
        }
      }
      j.num("kafka_log_bytes", total);
      j.num("kafka_log_bytes_per_request", n > 0 ? total / n : Double.NaN);
      j.obj("kafka_log_bytes_per_request_by_topic", perTopic);
    } else {
      j.str(
          "kafka_error",
          before.kafkaError() != null ? before.kafkaError() : String.valueOf(after.kafkaError()));
    }
    // broker requests and bytes out
    if (before.brokerError() == null && after.brokerError() == null) {
      Map<String, Double> requests = new TreeMap<>();
      Map<String, Double> bytesOut = new TreeMap<>();
      Map<String, Double> allocatedMb = new TreeMap<>();
      for (Map.Entry<String, Long> e : after.broker().entrySet()) {
        long d = e.getValue() - before.broker().getOrDefault(e.getKey(), 0L);
        if (d == 0 || n == 0) {
          continue;
        }
        String key = e.getKey().substring(e.getKey().indexOf(':') + 1);
        if (e.getKey().startsWith("alloc:")) {
          // a thread that ended during the phase is missing: its allocation is lost to this table
          String thread = key.substring(key.indexOf(':') + 1);
          allocatedMb.merge(threadGroup(thread), d / 1e6 / n, Double::sum);
        } else {
          (e.getKey().startsWith("requests:") ? requests : bytesOut).put(key, (double) d / n);
        }
      }
      j.obj("broker_requests_per_request_by_type", requests);
      j.obj("broker_bytes_out_per_request_by_topic", bytesOut);
      j.obj("allocated_mb_per_request_by_thread_group", allocatedMb);
    } else {
      j.str(
          "broker_error",
          before.brokerError() != null
              ? before.brokerError()
              : String.valueOf(after.brokerError()));
    }
    // CPU
    if (before.cpuError() == null && after.cpuError() == null) {
      double tck = Double.parseDouble(opts.getOrDefault("clk-tck", "100"));
      double cpuMs = (after.cpuTicks() - before.cpuTicks()) * 1000.0 / tck;
      j.num("cpu_ms", cpuMs);
      j.num("cpu_ms_per_request", n > 0 ? cpuMs / n : Double.NaN);
      j.num("cpu_cores_busy", cpuMs / (wallNs / 1e6));
      Map<String, Double> byGroup = new TreeMap<>();
      for (Map.Entry<String, Long> t : after.threadTicks().entrySet()) {
        long d = t.getValue() - before.threadTicks().getOrDefault(t.getKey(), 0L);
        String name = t.getKey().substring(t.getKey().indexOf(':') + 1);
        byGroup.merge(threadGroup(name), n > 0 ? d * 1000.0 / tck / n : Double.NaN, Double::sum);
      }
      j.obj("cpu_ms_per_request_by_thread_group", byGroup);
      if (before.machineBusyTicks() >= 0 && after.machineBusyTicks() >= 0) {
        // what else kept this machine's CPUs busy meanwhile: neither the stack nor this driver
        double machineMs = (after.machineBusyTicks() - before.machineBusyTicks()) * 1000.0 / tck;
        double selfMs = (after.selfTicks() - before.selfTicks()) * 1000.0 / tck;
        j.num("driver_cores_busy", selfMs / (wallNs / 1e6));
        j.num("other_cores_busy", Math.max(0, machineMs - cpuMs - selfMs) / (wallNs / 1e6));
      }
    } else {
      j.str("cpu_error", String.valueOf(after.cpuError()));
    }
    // GC (JVM-wide, from the gateway's registry)
    if (before.prometheusError() == null && after.prometheusError() == null) {
      Map<String, Double> counts = new TreeMap<>();
      Map<String, Double> pauseMs = new TreeMap<>();
      for (Map.Entry<String, Double> e : after.prometheus().entrySet()) {
        double d = e.getValue() - before.prometheus().getOrDefault(e.getKey(), 0.0);
        if (e.getKey().startsWith("count:") && d > 0) {
          counts.put(e.getKey().substring(6), d);
        } else if (e.getKey().startsWith("sum:") && d > 0) {
          pauseMs.put(e.getKey().substring(4), d * 1000);
        }
      }
      double alloc = after.prometheus().get("alloc") - before.prometheus().get("alloc");
      j.num("prom_allocated_bytes", alloc);
      j.num("prom_allocated_bytes_per_request", n > 0 ? alloc / n : Double.NaN);
      j.obj("gc_pauses_by_cause", counts);
      j.obj("gc_pause_ms_by_cause", pauseMs);
    } else {
      j.str(
          "prometheus_error",
          before.prometheusError() != null
              ? before.prometheusError()
              : String.valueOf(after.prometheusError()));
    }
    return j.end();
  }

  /** Nearest-rank percentile of a sorted list; NaN when empty. */
  private static double pct(List<Double> sorted, double p) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  /** A minimal JSON object writer (NaN and infinities become null). */
  private static final class Json {
    private final StringBuilder sb = new StringBuilder("{");

    private void key(String k) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      quote(k);
      sb.append(':');
    }

    void str(String k, String v) {
      key(k);
      quote(v);
    }

    void bool(String k, boolean v) {
      key(k);
      sb.append(v);
    }

    void num(String k, double v) {
      key(k);
      value(v);
    }

    void obj(String k, Map<String, ? extends Number> m) {
      key(k);
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, ? extends Number> e : m.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        quote(e.getKey());
        sb.append(':');
        value(e.getValue().doubleValue());
      }
      sb.append('}');
    }

    private void value(double v) {
      if (Double.isNaN(v) || Double.isInfinite(v)) {
        sb.append("null");
      } else if (v == Math.rint(v) && Math.abs(v) < 1e15) {
        sb.append((long) v);
      } else {
        sb.append(String.format(Locale.ROOT, "%.4f", v));
      }
    }

    private void quote(String s) {
      sb.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"' -> sb.append("\\\"");
          case '\\' -> sb.append("\\\\");
          case '\n' -> sb.append("\\n");
          case '\r' -> sb.append("\\r");
          case '\t' -> sb.append("\\t");
          default -> {
            if (c < 0x20) {
              sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
              sb.append(c);
            }
          }
        }
      }
      sb.append('"');
    }

    String end() {
      return sb.append('}').toString();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // request and image

  /** Numbers the images of this driver's requests; starts at a random point per run. */
  private static final java.util.concurrent.atomic.AtomicLong UNIQUE =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime());

  private static byte[] requestBody(byte[] png, String question, boolean stream) {
    String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    Json q = new Json();
    q.str("q", question);
    String quoted = q.end();
    quoted = quoted.substring(5, quoted.length() - 1);
    String body =
        "{\"model\":\"ferret-v2-dev\","
            + (stream ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}," : "")
            + "\"messages\":[{\"role\":\"user\",\"content\":["
            + "{\"type\":\"text\",\"text\":"
            + quoted
            + "},{\"type\":\"image_url\",\"image_url\":{\"url\":\""
            + dataUrl
            + "\"}}]}]}";
    return body.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The request's PNG: {@code --image FILE}, or a synthetic one of {@code --image-size WxH}
   * (default 960x640): a red and a blue rectangle on grey, the same for every run.
   */
  private static byte[] image(Map<String, String> opts) throws IOException {
    if (opts.containsKey("image")) {
      return Files.readAllBytes(Path.of(opts.get("image")));
    }
    return synthetic(opts.getOrDefault("image-size", "960x640"));
  }

  /** The synthetic PNG of {@code size} ({@code WxH}): a red and a blue rectangle on grey. */
  static byte[] synthetic(String size) throws IOException {
    String[] wh = size.split("x");
    int w = Integer.parseInt(wh[0]);
    int h = Integer.parseInt(wh[1]);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setColor(new Color(128, 128, 128));
      g.fillRect(0, 0, w, h);
      g.setColor(new Color(220, 30, 30));
      g.fillRect(w * 12 / 100, h * 16 / 100, w * 25 / 100, h * 30 / 100);
      g.setColor(new Color(30, 60, 220));
      g.fillRect(w * 58 / 100, h * 50 / 100, w * 31 / 100, h * 37 / 100);
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(img, "png", out)) {
      throw new IOException("no PNG writer");
    }
    return out.toByteArray();
  }

  // ---------------------------------------------------------------------------------------------
  // arguments and logging

  private static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new ConcurrentHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      String key = args[i].substring(2);
      if (key.equals("stream")) {
        opts.put(key, "true");
      } else if (i + 1 < args.length) {
        opts.put(key, args[++i]);
      } else {
        throw new IllegalArgumentException("--" + key + " needs a value");
      }
    }
    return opts;
  }

  private static String require(Map<String, String> opts, String key) {
    String v = opts.get(key);
    if (v == null) {
      throw new IllegalArgumentException("--" + key + " is required");
    }
    return v;
  }

  /** Kafka's and gRPC's INFO logging would bury the output: WARN and above, when on Logback. */
  private static void quietLogging() {
    Object root = LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    try {
      Class<?> level = Class.forName("ch.qos.logback.classic.Level");
      root.getClass().getMethod("setLevel", level).invoke(root, level.getField("WARN").get(null));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // another SLF4J binding: leave it as configured
    }
  }
}

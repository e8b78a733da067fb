package ai.ferretstream.launcher;

import ai.ferretstream.encoder.EncoderApplication;
import ai.ferretstream.fusion.FusionApplication;
import ai.ferretstream.gateway.GatewayApplication;
import ai.ferretstream.inferenceserver.InferenceServer;
import ai.ferretstream.llm.LlmApplication;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.tiler.TilerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;
import org.springframework.util.FileSystemUtils;

/**
 * The whole Ferret Stream stack in this JVM: an in-process KRaft broker, the inference server with
 * the dev models, and the services (tiler, encoder twice — global and local —, fusion, llm,
 * gateway). {@link #close()} stops everything in reverse order.
 *
 * <pre>{@code
 * try (LocalStack stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start()) {
 *   URI api = URI.create(stack.gatewayUrl() + "/v1/chat/completions");
 * }
 * }</pre>
 */
public final class LocalStack implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalStack.class);

  /** The dev model repository, relative to the repository root. */
  public static final Path DEV_MODEL_REPOSITORY = Path.of("inference-server", "model-repository");

  private final Deque<Stoppable> started = new ArrayDeque<>();
  private String bootstrapServers;
  private Path featureDirectory;
  private int grpcPort;
  private int gatewayPort;

  private interface Stoppable {
    String name();

    void stop() throws Exception;
  }

  private LocalStack() {}

  public static Builder builder() {
    return new Builder();
  }

  /** Settings of a local stack; ports 0 pick free ones. */
  public static final class Builder {
    private int gatewayPort = 8080;
    private int kafkaPort = 9092;
    private int grpcPort = 8001;
    private int partitions = 4;
    private boolean sharedMemory = true;
    private boolean sharedFeatures = true;
    private boolean sharedTiles = true;
    private boolean featureCache = true;
    private Path modelRepository;
    private Duration readyTimeout = Duration.ofMinutes(3);
    private String tilerMode;

    private Builder() {}

    /** The gateway's HTTP port (default 8080; 0 = any free port). */
    public Builder gatewayPort(int port) {
      this.gatewayPort = checkPort(port);
      return this;
    }

    /** The broker's port (default 9092; 0 = any free port). */
    public Builder kafkaPort(int port) {
      this.kafkaPort = checkPort(port);
      return this;
    }

    /** The inference server's gRPC port (default 8001; 0 = any free port). */
    public Builder grpcPort(int port) {
      this.grpcPort = checkPort(port);
      return this;
    }

    /** Partitions of every pipeline topic (default 4). */
    public Builder partitions(int partitions) {
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be positive, was " + partitions);
      }
      this.partitions = partitions;
      return this;
    }

    /**
     * Whether the encoders, fusion and the llm pass their tensors to the inference server through
     * shared memory (default true: the server runs in this process, so it always sees the same
     * memory).
     */
    public Builder sharedMemory(boolean sharedMemory) {
      this.sharedMemory = sharedMemory;
      return this;
    }

    /**
     * Whether the encoders write their feature maps to a shared-memory store that fusion and the
     * llm read (default true: they all run in this process), instead of publishing them to {@code
     * ferret.features}; the notices go through Kafka either way (ADR 0011).
     */
    public Builder sharedFeatures(boolean sharedFeatures) {
      this.sharedFeatures = sharedFeatures;
      return this;
    }

    /**
     * Whether the tiler writes the tiles' pixels to that store too, for the encoders to read
     * (default true; only with {@link #sharedFeatures}), instead of publishing them to the tile
     * topics (ADR 0012).
     */
    public Builder sharedTiles(boolean sharedTiles) {
      this.sharedTiles = sharedTiles;
      return this;
    }

    /**
     * Whether images asked about again take their features from the feature cache instead of being
     * tiled and encoded again (default true; only with {@link #sharedFeatures}: the cache keeps the
     * maps in the same store; ADR 0018).
     */
    public Builder featureCache(boolean featureCache) {
      this.featureCache = featureCache;
      return this;
    }

    /** The inference server's model repository (default: the dev models of this checkout). */
    public Builder modelRepository(Path modelRepository) {
      this.modelRepository = modelRepository;
      return this;
    }

    /**
     * How the tiler fits images onto the grid canvas: {@code stretch} or {@code pad} (default: the
     * tiler's own setting, {@code ferret.tiler.mode}).
     */
    public Builder tilerMode(String tilerMode) {
      this.tilerMode = tilerMode;
      return this;
    }

    /** How long to wait for the gateway to become ready (default 3 minutes). */
    public Builder readyTimeout(Duration readyTimeout) {
      this.readyTimeout = readyTimeout;
      return this;
    }

    /**
     * Starts the stack and waits until the gateway is ready.
     *
     * @throws IllegalStateException if any part fails to start (whatever did start is stopped)
     */
    public LocalStack start() {
      Path repo = modelRepository != null ? modelRepository : findDevModelRepository();
      if (!Files.isDirectory(repo)) {
        throw new IllegalStateException("model repository " + repo + " is not a directory");
      }
      LocalStack stack = new LocalStack();
      try {
        stack.startAll(this, repo);
        return stack;
      } catch (RuntimeException | Error e) {
        stack.close();
        throw e;
      }
    }

    private static int checkPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      return port;
    }
  }

  /**
   * The dev model repository of this checkout: {@code inference-server/model-repository} under the
   * working directory or its parent (Maven runs module tests in the module directory).
   */
  public static Path findDevModelRepository() {
    Path cwd = Path.of("").toAbsolutePath();
    List<Path> tried = new ArrayList<>();
    for (Path base = cwd; base != null && tried.size() < 3; base = base.getParent()) {
      Path candidate = base.resolve(DEV_MODEL_REPOSITORY);
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
      tried.add(candidate);
    }
    throw new IllegalStateException(
        "no model repository found (tried "
            + tried
            + "); run from the repository root or pass --model-repository DIR");
  }

  /**
   * The stack's broker, not started yet: sized for multi-MB records, its disk bounded. Its topics
   * are declared by the services with the retention of {@code ferret.topics.*} (minutes for tiles
   * and feature maps, on small segments); the broker deletes expired segments every 30 s (Kafka's
   * default is 5 minutes) and keeps at most 512 MiB per partition of a topic without a size limit
   * of its own, far above what a partition takes within a request deadline.
   *
   * @param partitions default partitions of topics
   * @param port the port, 0 for any free one
   */
  static EmbeddedKafkaKraftBroker broker(int partitions, int port) {
    EmbeddedKafkaKraftBroker broker = new EmbeddedKafkaKraftBroker(1, partitions);
    String maxBytes = Integer.toString(KafkaLimits.MAX_RECORD_BYTES);
    broker.brokerProperties(
        Map.of(
            "message.max.bytes",
            maxBytes,
            "replica.fetch.max.bytes",
            maxBytes,
            // multi-MB records: let the OS size (autotune) the socket buffers
            "socket.send.buffer.bytes",
            "-1",
            "socket.receive.buffer.bytes",
            "-1",
            "log.retention.check.interval.ms",
            "30000",
            "log.retention.bytes",
            Long.toString(512L << 20)));
    if (port > 0) {
      // kafkaPorts(port) alone is ignored: spring-kafka-test's KRaft test kit binds its listeners
      // (EXTERNAL for clients, CONTROLLER) to free ports whatever the configuration says. A
      // listener of our own binds the port asked for; clients that bootstrap there are given it
      // as the broker's address.
      broker.kafkaPorts(port);
      broker.brokerProperty(
          "listeners",
          "EXTERNAL://localhost:0,CONTROLLER://localhost:0," + LISTENER + "://localhost:" + port);
      broker.brokerProperty(
          "listener.security.protocol.map",
          "EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT," + LISTENER + ":PLAINTEXT");
    }
    return broker;
  }

  /** The listener of a broker started on a given port ({@link #broker}). */
  static final String LISTENER = "LOCAL";

  /**
   * The address clients of {@code broker} bootstrap from: the port it was started on, or, for port
   * 0, the free port its test kit picked.
   */
  static String bootstrapServers(EmbeddedKafkaKraftBroker broker, int port) {
    return port > 0 ? "localhost:" + port : broker.getBrokersAsString();
  }

  private void startAll(Builder options, Path repo) {
    long t0 = System.nanoTime();
    EmbeddedKafkaKraftBroker broker = broker(options.partitions, options.kafkaPort);
    step("kafka broker", broker::afterPropertiesSet);
    started.push(stoppable("kafka broker", broker::destroy));
    bootstrapServers = bootstrapServers(broker, options.kafkaPort);
    log.info("kafka broker up at {}", bootstrapServers);

    InferenceServer inference =
        step(
            "inference server",
            () -> {
              try {
                return InferenceServer.start(repo, options.grpcPort);
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    started.push(stoppable("inference server", inference::close));
    grpcPort = inference.port();
    log.info("inference server up on port {} with {}", grpcPort, repo);

    List<String> common =
        List.of(
            "--spring.kafka.bootstrap-servers=" + bootstrapServers,
            "--ferret.topics.partitions=" + options.partitions,
            "--spring.main.banner-mode=off",
            "--spring.main.register-shutdown-hook=false",
            // five applications share one logging system: no per-application name, and no
            // shutdown hook that stops logging before close() has stopped everything
            "--logging.include-application-name=false",
            "--logging.register-shutdown-hook=false");
    // the feature maps through a store of this stack's own in shared memory (ADR 0011), removed
    // when the stack stops (after the services, which are stopped first)
    featureDirectory = sharedFeatureDirectory();
    if (options.sharedFeatures) {
      started.push(
          stoppable(
              "shared feature store", () -> FileSystemUtils.deleteRecursively(featureDirectory)));
    }
    // the services that call models: the server is in this process, so tensors can pass through
    // shared memory (a slot holds a batch of 16 tiles with their features, H_a or the image
    // tokens of a large grid), and the feature maps through the store
    List<String> callingModels = new ArrayList<>(common);
    callingModels.addAll(
        List.of(
            "--server.port=0",
            "--ferret.inference.target=localhost:" + grpcPort,
            "--ferret.inference.shared-memory.enabled=" + options.sharedMemory,
            "--ferret.features.shared-memory.enabled=" + options.sharedFeatures,
            "--ferret.features.shared-memory.directory=" + featureDirectory));
    // the feature cache in the same store (ADR 0018): the tiler looks images up, the encoders
    // store what they encode
    String cache =
        "--ferret.feature-cache.enabled=" + (options.sharedFeatures && options.featureCache);
    callingModels.add(cache);
    // the tiles through the same store (ADR 0012)
    List<String> tiling = new ArrayList<>(common);
    tiling.addAll(
        List.of(
            "--server.port=0",
            "--ferret.features.shared-memory.enabled=" + options.sharedFeatures,
            "--ferret.features.shared-memory.directory=" + featureDirectory,
            "--ferret.tiler.shared-tiles=" + options.sharedTiles,
            cache));
    if (options.tilerMode != null) {
      tiling.add("--ferret.tiler.mode=" + options.tilerMode);
    }
    run("tiler-service", TilerApplication::builder, tiling);
    run(
        "encoder-service (global)",
        EncoderApplication::builder,
        callingModels,
        "--ferret.inference.shared-memory.slots=2",
        "--ferret.inference.shared-memory.slot-size=32MB",
        "--ferret.encoder.role=global");
    run(
        "encoder-service (local)",
        EncoderApplication::builder,
        callingModels,
        "--ferret.inference.shared-memory.slots=4",
        "--ferret.inference.shared-memory.slot-size=32MB",
        "--ferret.encoder.role=local");
    run(
        "fusion-service",
        FusionApplication::builder,
        callingModels,
        "--ferret.inference.shared-memory.slots=2",
        "--ferret.inference.shared-memory.slot-size=32MB");
    run(
        "llm-service",
        LlmApplication::builder,
        callingModels,
        "--ferret.inference.shared-memory.slots=8");
    ConfigurableApplicationContext gateway =
        run(
            "gateway-service",
            GatewayApplication::builder,
            common,
            "--server.port=" + options.gatewayPort);
    gatewayPort = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    awaitReady(options.readyTimeout);
    log.info(
        "Ferret Stream is up at {} ({} ms)", gatewayUrl(), (System.nanoTime() - t0) / 1_000_000);
  }

  private final java.util.Map<String, ConfigurableApplicationContext> contexts =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static final java.util.concurrent.atomic.AtomicInteger STORES =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * A directory in shared memory of this stack's own (several stacks may run in one process); those
   * of stacks whose process is gone (killed before it could remove its own) are removed.
   */
  private static Path sharedFeatureDirectory() {
    java.util.regex.Pattern owned = java.util.regex.Pattern.compile("ferret-features-(\\d+)-\\d+");
    try (java.util.stream.Stream<Path> dirs = Files.list(SharedMemory.directory())) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        java.util.regex.Matcher m = owned.matcher(dir.getFileName().toString());
        if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
          FileSystemUtils.deleteRecursively(dir);
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      log.warn("could not remove feature stores of stopped stacks: {}", e.toString());
    }
    return SharedMemory.directory()
        .resolve(
            "ferret-features-" + ProcessHandle.current().pid() + "-" + STORES.incrementAndGet());
  }

  private ConfigurableApplicationContext run(
      String name, Supplier<SpringApplicationBuilder> builder, List<String> common, String... own) {
    List<String> args = new ArrayList<>(common);
    args.addAll(List.of(own));
    ConfigurableApplicationContext context =
        step(name, () -> builder.get().run(args.toArray(String[]::new)));
    started.push(stoppable(name, context::close));
    contexts.put(name, context);
    log.info("{} started", name);
    return context;
  }

  /**
   * The metrics of one service of the stack, by the name it was started under: {@code
   * tiler-service}, {@code encoder-service (global)}, {@code encoder-service (local)}, {@code
   * fusion-service}, {@code llm-service}, {@code gateway-service}.
   */
  public io.micrometer.core.instrument.MeterRegistry meters(String service) {
    ConfigurableApplicationContext context = contexts.get(service);
    if (context == null) {
      throw new IllegalArgumentException("no service '" + service + "' in " + contexts.keySet());
    }
    return context.getBean(io.micrometer.core.instrument.MeterRegistry.class);
  }

  private static <T> T step(String name, Supplier<T> action) {
    try {
      return action.get();
    } catch (RuntimeException e) {
      throw new IllegalStateException("could not start " + name + ": " + e.getMessage(), e);
    }
  }

  private static void step(String name, Runnable action) {
    step(
        name,
        () -> {
          action.run();
          return null;
        });
  }

  private static Stoppable stoppable(String name, AutoCloseable close) {
    return new Stoppable() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void stop() throws Exception {
        close.close();
      }
    };
  }

  /** Polls the gateway's readiness probe until it answers 200. */
  private void awaitReady(Duration timeout) {
    URI readiness = URI.create(gatewayUrl() + "/actuator/health/readiness");
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> response =
            client.send(
                HttpRequest.newBuilder(readiness).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
        last = "HTTP " + response.statusCode() + " " + response.body();
      } catch (java.io.IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the gateway", e);
      }
      try {
        Thread.sleep(200); // polling interval of the readiness probe
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the gateway", e);
      }
    }
    throw new IllegalStateException(
        "the gateway did not become ready within " + timeout + ": " + last);
  }

  /** The gateway's base URL, e.g. {@code http://localhost:8080}. */
  public String gatewayUrl() {
    return "http://localhost:" + gatewayPort;
  }

  public int gatewayPort() {
    return gatewayPort;
  }

  /** The broker's bootstrap servers, e.g. {@code localhost:9092}. */
  /** The directory of this stack's shared-memory feature store (ADR 0011), used or not. */
  public Path sharedFeatureStore() {
    return featureDirectory;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The inference server's gRPC port. */
  public int grpcPort() {
    return grpcPort;
  }

  /** Stops the services, the inference server and the broker, in reverse start order. */
  @Override
  public synchronized void close() {
    while (!started.isEmpty()) {
      Stoppable part = started.pop();
      try {
        part.stop();
        log.info("{} stopped", part.name());
      } catch (Exception e) {
        log.warn("stopping {} failed", part.name(), e);
      }
    }
  }
}

package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.SharedMemoryRegions;
import ai.ferretstream.proto.triton.TritonMethods;
import ai.onnxruntime.OrtEnvironment;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KServe v2 / Triton-protocol gRPC inference server over a Triton-layout model repository: ONNX
 * models run on ONNX Runtime (CPU), {@code backend: "java"} models in this JVM. Also serves {@code
 * grpc.health.v1.Health} and server reflection.
 *
 * <p>{@link #start} binds the port first, so that {@code ServerReady} / {@code ModelReady} answer
 * (false) while the models load, then loads every model and returns once all are ready. A model
 * that fails to load fails the start with every reason.
 */
public final class InferenceServer implements AutoCloseable {

  /** Largest request the server accepts (a batch of 32 tiles is 10.8 MB; H_a up to ~100 MB). */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 256 << 20;

  private static final Logger log = LoggerFactory.getLogger(InferenceServer.class);

  private final Server server;
  private final ModelRegistry registry;
  private final HealthStatusManager health;
  private final ExecutorService callExecutor;
  private volatile MetricsEndpoint metrics;

  private InferenceServer(
      Server server,
      ModelRegistry registry,
      HealthStatusManager health,
      ExecutorService callExecutor) {
    this.server = server;
    this.registry = registry;
    this.health = health;
    this.callExecutor = callExecutor;
  }

  /**
   * Starts the server and loads every model of {@code modelRepository}.
   *
   * @param port TCP port on all interfaces; 0 picks a free one (see {@link #port()})
   * @throws IOException when the repository cannot be read, the port cannot be bound or a model
   *     fails to load (the message names each model and why)
   */
  public static InferenceServer start(Path modelRepository, int port) throws IOException {
    return start(modelRepository, port, METRICS_OFF);
  }

  /** {@code metricsPort} value that serves no metrics endpoint. */
  public static final int METRICS_OFF = -1;

  /**
   * Starts the server, optionally with the Prometheus {@code /metrics} endpoint.
   *
   * @param metricsPort HTTP port for {@code GET /metrics} on all interfaces, 0 for any free port
   *     (see {@link #metricsPort()}), or {@link #METRICS_OFF}
   * @throws IOException as {@link #start(Path, int)}, or when the metrics port cannot be bound
   */
  public static InferenceServer start(Path modelRepository, int port, int metricsPort)
      throws IOException {
    Path repo = modelRepository.toAbsolutePath().normalize();
    ModelRegistry registry = ModelRegistry.scan(repo);
    int cores = Runtime.getRuntime().availableProcessors();
    // RPC handlers only decode and queue (models run on their schedulers' instance threads), so
    // a small pool keeps any number of requests in flight
    ExecutorService callExecutor =
        Executors.newFixedThreadPool(Math.max(4, 2 * cores), daemonThreads("inference-grpc-"));
    HealthStatusManager health = new HealthStatusManager();
    String serviceName = GRPCInferenceServiceGrpc.SERVICE_NAME;
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
    health.setStatus(serviceName, ServingStatus.NOT_SERVING);
    Server server =
        NettyServerBuilder.forPort(port)
            .executor(callExecutor)
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
            // clients such as TritonChannels ping during long calls: allow it instead of GOAWAY
            .permitKeepAliveTime(5, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .addService(
                TritonMethods.withAliasing(
                    new InferenceService(
                            registry, new SharedMemoryRegions(SharedMemory.directory()))
                        .bindService()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .build();
    InferenceServer s = new InferenceServer(server, registry, health, callExecutor);
    try {
      server.start();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw new IOException("cannot start the inference server on port " + port + ": " + e, e);
    }
    if (metricsPort != METRICS_OFF) {
      try {
        s.metrics = MetricsEndpoint.start(metricsPort, registry);
      } catch (IOException | RuntimeException e) {
        s.close();
        throw new IOException(
            "cannot serve the metrics endpoint on port " + metricsPort + ": " + e, e);
      }
      log.info("metrics at http://0.0.0.0:{}/metrics", s.metrics.port());
    }
    log.info("inference server listening on port {}, loading models from {}", s.port(), repo);
    List<String> failures;
    try {
      failures =
          onLargeStack(
              () -> registry.loadAll(ModelRegistry.defaultLoader(OrtEnvironment::getEnvironment)));
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    if (!failures.isEmpty()) {
      s.close();
      throw new IOException(
          "inference server: "
              + failures.size()
              + " model(s) of "
              + repo
              + " failed to load: "
              + String.join("; ", failures));
    }
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    health.setStatus(serviceName, ServingStatus.SERVING);
    log.info("inference server ready on port {} with models {}", s.port(), s.modelNames());
    return s;
  }

  /** Stack size of the thread that loads models (see {@link #onLargeStack}). */
  static final long LOADER_STACK_BYTES = 64L << 20;

  /**
   * Runs the model loading on a thread with a large stack: ONNX Runtime builds its sessions on the
   * calling thread and overflows a default-sized (1 MB) Java thread stack in native code, which
   * kills the JVM with a segmentation fault instead of a Java exception.
   */
  static <T> T onLargeStack(java.util.function.Supplier<T> work) {
    java.util.concurrent.atomic.AtomicReference<T> result =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicReference<RuntimeException> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    Thread loader =
        new Thread(
            null,
            () -> {
              try {
                result.set(work.get());
              } catch (RuntimeException e) {
                failure.set(e);
              }
            },
            "inference-model-loader",
            LOADER_STACK_BYTES);
    loader.start();
    try {
      loader.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while loading models", e);
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    return result.get();
  }

  /** The bound port. */
  public int port() {
    return server.getPort();
  }

  /** The bound port of the {@code /metrics} endpoint, or {@link #METRICS_OFF}. */
  public int metricsPort() {
    MetricsEndpoint m = metrics;
    return m == null ? METRICS_OFF : m.port();
  }

  /** Whether every model is loaded and the server is not closing (what ServerReady answers). */
  public boolean ready() {
    return registry.serverReady();
  }

  /** Blocks until the server has shut down. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  private List<String> modelNames() {
    return registry.allSlots().stream().map(slot -> slot.name + "/" + slot.version).toList();
  }

  /**
   * Stops accepting calls, cancels the running ones after a grace period (queued requests are then
   * removed), stops the models' schedulers and releases the models.
   */
  @Override
  public void close() {
    health.enterTerminalState();
    registry.markClosing();
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
      callExecutor.shutdownNow();
      callExecutor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      MetricsEndpoint m = metrics;
      if (m != null) {
        m.close();
      }
      registry.close();
    }
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}

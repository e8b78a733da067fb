package ai.ferretstream.boot.inference;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Channels to Triton (or our inference server): plaintext, explicit message size limits, keepalive,
 * and a service config that retries only {@code UNAVAILABLE} and {@code RESOURCE_EXHAUSTED} (a
 * Triton queue that is full) with capped exponential backoff. Deadlines are set per call by the
 * adapters.
 *
 * <p>Load balancing over several Triton replicas ({@link Balancing}): a Kubernetes ClusterIP
 * Service balances connections, not calls, and gRPC keeps one long-lived connection, so a replica
 * added by the autoscaler would get no work from running clients. With a headless Service as the
 * target ({@code dns:///triton-headless:8001}), {@code round_robin} spreads calls over every
 * address the name resolves to, and a re-resolve interval makes the channel look the name up again
 * periodically (it goes idle and re-resolves on the next call; calls in flight continue on their
 * connections), so new replicas join and removed ones leave.
 */
public final class TritonChannels {

  private static final ScheduledExecutorService RE_RESOLVER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "triton-channel-re-resolve");
            t.setDaemon(true);
            return t;
          });

  private TritonChannels() {}

  /**
   * How calls spread over the addresses the target resolves to.
   *
   * @param policy {@code pick_first} (one connection; the default) or {@code round_robin}
   * @param reResolveInterval how often the target name is resolved again; zero = only when a
   *     connection fails (gRPC's default)
   */
  public record Balancing(String policy, Duration reResolveInterval) {
    public static final Balancing PICK_FIRST = new Balancing("pick_first", Duration.ZERO);

    public Balancing {
      if (!"pick_first".equals(policy) && !"round_robin".equals(policy)) {
        throw new IllegalArgumentException(
            "load balancing policy must be pick_first or round_robin, got '" + policy + "'");
      }
      if (reResolveInterval.isNegative()) {
        throw new IllegalArgumentException("re-resolve interval must not be negative");
      }
    }
  }

  /** {@link #create(String, int, Duration, int, Balancing)} with one connection (pick_first). */
  public static ManagedChannel create(
      String target, int maxMessageBytes, Duration keepAlive, int maxAttempts) {
    return create(target, maxMessageBytes, keepAlive, maxAttempts, Balancing.PICK_FIRST);
  }

  /**
   * @param target {@code host:port} or any gRPC target string
   * @param maxMessageBytes inbound and outbound message limit
   * @param keepAlive keepalive ping interval
   * @param maxAttempts attempts per call for UNAVAILABLE or RESOURCE_EXHAUSTED (1 = no retry; gRPC
   *     caps it at 5)
   * @param balancing load balancing policy and re-resolution
   */
  public static ManagedChannel create(
      String target,
      int maxMessageBytes,
      Duration keepAlive,
      int maxAttempts,
      Balancing balancing) {
    ManagedChannelBuilder<?> builder =
        ManagedChannelBuilder.forTarget(target)
            .defaultLoadBalancingPolicy(balancing.policy())
            .usePlaintext()
            .maxInboundMessageSize(maxMessageBytes)
            .keepAliveTime(keepAlive.toMillis(), TimeUnit.MILLISECONDS)
            .keepAliveWithoutCalls(false)
            .userAgent("ferret-stream");
    if (maxAttempts > 1) {
      builder.defaultServiceConfig(retryServiceConfig(maxAttempts)).enableRetry();
      builder.maxRetryAttempts(maxAttempts);
      // a retried call's message must fit in the retry buffer
      builder.perRpcBufferLimit(Math.max(maxMessageBytes, 16 << 20));
      builder.retryBufferSize(Math.max(2L * maxMessageBytes, 64L << 20));
    } else {
      builder.disableRetry();
    }
    ManagedChannel channel = builder.build();
    if (!balancing.reResolveInterval().isZero()) {
      reResolvePeriodically(channel, balancing.reResolveInterval());
    }
    return channel;
  }

  /** Moves the channel to idle every {@code interval} (until it shuts down): it re-resolves. */
  static void reResolvePeriodically(ManagedChannel channel, Duration interval) {
    AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
    long millis = Math.max(1, interval.toMillis());
    task.set(
        RE_RESOLVER.scheduleAtFixedRate(
            () -> {
              if (channel.isShutdown()) {
                ScheduledFuture<?> self = task.get();
                if (self != null) {
                  self.cancel(false);
                }
              } else {
                channel.enterIdle();
              }
            },
            millis,
            millis,
            TimeUnit.MILLISECONDS));
  }

  static Map<String, ?> retryServiceConfig(int maxAttempts) {
    Map<String, Object> retryPolicy =
        Map.of(
            "maxAttempts",
            (double) maxAttempts,
            "initialBackoff",
            "0.1s",
            "maxBackoff",
            "2s",
            "backoffMultiplier",
            2.0,
            "retryableStatusCodes",
            List.of("UNAVAILABLE", "RESOURCE_EXHAUSTED"));
    Map<String, Object> methodConfig =
        Map.of(
            "name",
            List.of(Map.of("service", "inference.GRPCInferenceService")),
            "retryPolicy",
            retryPolicy);
    return Map.of("methodConfig", List.of(methodConfig));
  }
}

package ai.ferretstream.proto.triton;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Channels to Triton (or our inference server): plaintext, explicit message size limits, keepalive,
 * and a service config that retries only {@code UNAVAILABLE} and {@code RESOURCE_EXHAUSTED} (a
 * Triton queue that is full) with capped exponential backoff. Deadlines are set per call by the
 * adapters.
 */
public final class TritonChannels {

  /** Metadata header carrying the request id (Triton forwards headers matching its pattern). */
  public static final Metadata.Key<String> REQUEST_ID =
      Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

  private TritonChannels() {}

  /**
   * @param target {@code host:port} or any gRPC target string
   * @param maxMessageBytes inbound and outbound message limit
   * @param keepAlive keepalive ping interval
   * @param maxAttempts attempts per call for UNAVAILABLE or RESOURCE_EXHAUSTED (1 = no retry; gRPC
   *     caps it at 5)
   */
  public static ManagedChannel create(
      String target, int maxMessageBytes, Duration keepAlive, int maxAttempts) {
    ManagedChannelBuilder<?> builder =
        ManagedChannelBuilder.forTarget(target)
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
    return builder.build();
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

  /** Metadata carrying the request id, for {@code MetadataUtils.newAttachHeadersInterceptor}. */
  public static Metadata requestIdHeaders(String requestId) {
    Metadata headers = new Metadata();
    headers.put(REQUEST_ID, requestId);
    return headers;
  }
}

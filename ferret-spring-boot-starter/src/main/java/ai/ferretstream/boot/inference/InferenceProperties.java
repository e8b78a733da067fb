package ai.ferretstream.boot.inference;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The connection to Triton or our inference server ({@code ferret.inference.*}), for the services
 * that call models (encoder, fusion, llm). Which model a service calls is that service's setting.
 *
 * @param enabled whether this service calls models and so gets the channel; the encoder, fusion and
 *     llm turn it on in their configuration files, the tiler and the gateway call none
 * @param target gRPC target: {@code host:port}, or {@code dns:///name:port} to balance over every
 *     address the name resolves to
 * @param callTimeout deadline of one unary call (a sampler call is shortened to its request's
 *     deadline) and of each start-up check call
 * @param maxMessageSize gRPC message size limit, both directions
 * @param keepAlive keepalive ping interval while calls are active
 * @param maxAttempts attempts per call when the server is {@code UNAVAILABLE} or {@code
 *     RESOURCE_EXHAUSTED} (1 = no retry; gRPC caps it at 5)
 * @param verifyOnStartup check the model's contract at start-up and fail fast on a mismatch
 * @param loadBalancing {@code pick_first} (one connection) or {@code round_robin} (every address
 *     the target resolves to, e.g. {@code dns:///triton-headless:8001} over Triton replicas)
 * @param reResolveInterval how often the target is resolved again so that added replicas get calls;
 *     0 = only when a connection fails
 * @param sharedMemory tensors through shared memory with a co-located server (off by default)
 */
@ConfigurationProperties("ferret.inference")
@Validated
public record InferenceProperties(
    @DefaultValue("false") boolean enabled,
    @NotBlank @DefaultValue("localhost:8001") String target,
    @NotNull @DefaultValue("30s") Duration callTimeout,
    @NotNull @DefaultValue("64MB") DataSize maxMessageSize,
    @NotNull @DefaultValue("30s") Duration keepAlive,
    @Min(1) @Max(5) @DefaultValue("3") int maxAttempts,
    @DefaultValue("true") boolean verifyOnStartup,
    @NotNull @Pattern(regexp = "pick_first|round_robin") @DefaultValue("pick_first")
        String loadBalancing,
    @NotNull @DefaultValue("0s") Duration reResolveInterval,
    @NotNull @DefaultValue @Valid SharedMemoryProperties sharedMemory) {

  /**
   * Triton's system shared-memory extension ({@code ferret.inference.shared-memory.*}): with a
   * server on the same host that sees the same {@code /dev/shm} (the same machine, or a pod whose
   * containers share a memory volume), the large tensors of a call are written to and read from
   * registered memory instead of crossing the gRPC socket. Calls fall back to the message when no
   * slot is free or the server refuses the regions, so turning it on never fails a call.
   *
   * @param enabled use shared memory; needs {@code load-balancing: pick_first} (one server)
   * @param slots calls that can use shared memory at once
   * @param slotSize bytes per slot: the largest call (inputs and outputs) that can use one
   */
  public record SharedMemoryProperties(
      @DefaultValue("false") boolean enabled,
      @Min(1) @Max(1024) @DefaultValue("4") int slots,
      @NotNull @DefaultValue("16MB") DataSize slotSize) {

    /** {@link #slotSize} in bytes. */
    public int slotBytes() {
      return Math.toIntExact(slotSize.toBytes());
    }
  }

  /** The channel's load balancing settings. */
  public TritonChannels.Balancing balancing() {
    return new TritonChannels.Balancing(loadBalancing, reResolveInterval);
  }

  /** {@link #maxMessageSize} in bytes. */
  public int maxMessageBytes() {
    return Math.toIntExact(maxMessageSize.toBytes());
  }
}

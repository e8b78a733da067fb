package ai.ferretstream.fusion.config;

import ai.ferretstream.fusion.domain.UpsampleMode;
import ai.ferretstream.boot.inference.TritonChannels;
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
 * Settings of fusion-service ({@code ferret.*}).
 *
 * @param topics topic names and declarations (shared keys)
 * @param inference the inference server hosting the region sampler (shared keys plus the model)
 * @param fusion the join, fusion and listener settings of this service
 */
@ConfigurationProperties("ferret")
@Validated
public record FusionProperties(
    @Valid @DefaultValue Topics topics,
    @Valid @DefaultValue Inference inference,
    @Valid @DefaultValue Fusion fusion) {

  /**
   * Topic settings.
   *
   * @param prefix prefix of every topic name
   * @param partitions partitions of the topics this service declares
   * @param replication replication factor of the topics this service declares
   */
  public record Topics(
      @DefaultValue("") @NotNull String prefix,
      @DefaultValue("4") @Min(1) int partitions,
      @DefaultValue("1") @Min(1) short replication) {}

  /**
   * The inference server.
   *
   * @param target gRPC target ({@code host:port})
   * @param callTimeout deadline of one unary call: a region-sampler call (shortened to the
   *     request's deadline) or a start-up check
   * @param maxMessageSize gRPC message size limit, both directions
   * @param keepAlive keepalive ping interval of the channel
   * @param maxAttempts attempts per call when the server is UNAVAILABLE (1 = no retry)
   * @param verifyOnStartup check the model's contract at start-up and fail fast on a mismatch
   * @param model the region sampler model name
   * @param loadBalancing {@code pick_first} (one connection) or {@code round_robin} (every address
   *     the target resolves to, e.g. {@code dns:///triton-headless:8001} over Triton replicas)
   * @param reResolveInterval how often the target is resolved again so that added replicas get
   *     calls; 0 = only when a connection fails
   */
  public record Inference(
      @DefaultValue("localhost:8001") @NotBlank String target,
      @DefaultValue("30s") @NotNull Duration callTimeout,
      @DefaultValue("64MB") @NotNull DataSize maxMessageSize,
      @DefaultValue("30s") @NotNull Duration keepAlive,
      @DefaultValue("3") @Min(1) @Max(5) int maxAttempts,
      @DefaultValue("true") boolean verifyOnStartup,
      @DefaultValue("ferret_region_sampler") @NotBlank String model,
      @NotNull @Pattern(regexp = "pick_first|round_robin") @DefaultValue("pick_first")
          String loadBalancing,
      @NotNull @DefaultValue("0s") Duration reResolveInterval) {

    /** The channel's load balancing settings. */
    public TritonChannels.Balancing balancing() {
      return new TritonChannels.Balancing(loadBalancing, reResolveInterval);
    }
  }

  /**
   * Join, fusion and listener settings.
   *
   * @param upsampleMode how the global map is resized to the local map's size: {@code nearest}
   *     (PyTorch legacy) or {@code bilinear} ({@code align_corners=False})
   * @param groupId consumer group of the features listener
   * @param concurrency listener threads (at most the partitions of {@code ferret.features})
   * @param maxOpenJoins open joins beyond which new requests are refused with an error event
   * @param joinTimeout how long a join may wait when its request has no deadline
   * @param sweepInterval how often expired joins are failed
   * @param finishedMemory how many finished request ids are remembered (late records ignored)
   * @param finishedTtl how long a finished request id is remembered
   * @param idleCommitInterval idle time after which offsets freed by the sweeper are committed
   * @param retries retries of a record whose processing failed transiently
   * @param retryBackoff first retry delay (doubles per retry, capped at ten times this)
   * @param sendTimeout how long to wait for the broker to acknowledge an output record
   */
  public record Fusion(
      @DefaultValue("nearest") @NotNull UpsampleMode upsampleMode,
      @DefaultValue("fusion") @NotBlank String groupId,
      @DefaultValue("1") @Min(1) int concurrency,
      @DefaultValue("32") @Min(1) int maxOpenJoins,
      @DefaultValue("60s") @NotNull Duration joinTimeout,
      @DefaultValue("500ms") @NotNull Duration sweepInterval,
      @DefaultValue("100000") @Min(1) int finishedMemory,
      @DefaultValue("10m") @NotNull Duration finishedTtl,
      @DefaultValue("1s") @NotNull Duration idleCommitInterval,
      @DefaultValue("3") @Min(0) int retries,
      @DefaultValue("200ms") @NotNull Duration retryBackoff,
      @DefaultValue("10s") @NotNull Duration sendTimeout) {}
}

package ai.ferretstream.fusion.config;

import ai.ferretstream.fusion.domain.UpsampleMode;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of fusion-service ({@code ferret.*}).
 *
 * <p>The settings every service shares ({@code ferret.kafka.*}: send timeout and retries, {@code
 * ferret.topics.*}, {@code ferret.inference.*}: the Triton connection) are the starter's.
 *
 * @param fusion the join, fusion, region sampler and listener settings of this service
 */
@ConfigurationProperties("ferret")
@Validated
public record FusionProperties(@Valid @DefaultValue Fusion fusion) {

  /**
   * Join, fusion and listener settings.
   *
   * @param upsampleMode how the global map is resized to the local map's size: {@code nearest}
   *     (PyTorch legacy) or {@code bilinear} ({@code align_corners=False})
   * @param groupId consumer group of the feature-notices listener
   * @param concurrency listener threads (at most the partitions of {@code ferret.feature-notices})
   * @param maxOpenJoins open joins beyond which new requests are refused with an error event
   * @param joinTimeout how long a join may wait when its request has no deadline
   * @param sweepInterval how often expired joins are failed
   * @param finishedMemory how many finished request ids are remembered (late records ignored)
   * @param finishedTtl how long a finished request id is remembered
   * @param idleCommitInterval idle time after which offsets freed by the sweeper are committed
   * @param model the region sampler model on the inference server
   * @param imageTokens how the image tokens reach the llm: {@code by-reference} (the fused context
   *     names the feature records, which the llm reads back; the multi-MB tokens cross the broker
   *     once) or {@code by-value} (the fused context carries them)
   * @param featureReadTimeout longest reading back one request's feature maps may take (for regions
   *     and tokens by value: fusion joins on notices that only name the maps)
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
      @DefaultValue("ferret_region_sampler") @NotBlank String model,
      @DefaultValue("by-reference") @NotNull TokenTransport imageTokens,
      @DefaultValue("10s") @NotNull Duration featureReadTimeout) {}

  /** How the image tokens travel from fusion to the llm. */
  public enum TokenTransport {
    BY_REFERENCE,
    BY_VALUE
  }
}

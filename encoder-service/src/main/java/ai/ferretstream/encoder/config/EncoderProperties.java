package ai.ferretstream.encoder.config;

import ai.ferretstream.encoder.domain.EncoderRole;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The encoder's settings ({@code ferret.*}).
 *
 * <p>The settings every service shares ({@code ferret.kafka.*}: send timeout and retries, {@code
 * ferret.topics.*}, {@code ferret.inference.*}: the Triton connection) are the starter's.
 *
 * @param encoder role, model contract, batching and the tiles listener
 */
@ConfigurationProperties("ferret")
@Validated
record EncoderProperties(@Valid @DefaultValue Encoder encoder) {

  /**
   * Encoder settings.
   *
   * @param role {@code global} (reads ferret.tiles.global) or {@code local} (ferret.tiles.local)
   * @param model Triton model name; empty = the role's default ({@code clip_vision} / {@code
   *     dinov2_vision})
   * @param modelVersion model version; empty = the server's policy
   * @param inputName the model's UINT8 {@code [B, tile, tile, 3]} input
   * @param outputName the model's FP16 {@code [B, patches, C]} output
   * @param maxBatchSize most tiles per ModelInfer call (also the consumer's max.poll.records)
   * @param maxQueueDelay longest a tile waits for a fuller batch (a batch closes when full or when
   *     its oldest tile has waited this long)
   * @param maxInflightBatches batches at the inference server at once (worker threads)
   * @param sendWindow batches between their model call and the broker's acknowledgement of their
   *     features at once: a worker goes on with its next call while the last batch's features are
   *     acknowledged, until this many are under way
   * @param queueCapacity tiles queued for batching at which the consumer is paused (it resumes
   *     below half); 0 = four batches
   * @param tileSize tile edge in pixels
   * @param patchGrid patches per tile edge (336 / 14 = 24)
   * @param concurrency listener threads, each making its own ModelInfer calls
   * @param startupTimeout deadline of each start-up check call (readiness, metadata)
   * @param groupId consumer group of the tiles listener; empty = {@code encoder-<role>}
   *     (deployments set it explicitly so that lag-based autoscaling watches the same group)
   */
  public record Encoder(
      @NotNull @DefaultValue("global") EncoderRole role,
      @NotNull @DefaultValue("") String model,
      @NotNull @DefaultValue("") String modelVersion,
      @NotBlank @DefaultValue("pixels") String inputName,
      @NotBlank @DefaultValue("features") String outputName,
      @Min(1) @Max(256) @DefaultValue("16") int maxBatchSize,
      @NotNull @DefaultValue("5ms") Duration maxQueueDelay,
      @Min(1) @Max(64) @DefaultValue("2") int maxInflightBatches,
      @Min(1) @Max(256) @DefaultValue("4") int sendWindow,
      @Min(0) @Max(100_000) @DefaultValue("0") int queueCapacity,
      @Min(14) @Max(4096) @DefaultValue("336") int tileSize,
      @Min(1) @Max(1024) @DefaultValue("24") int patchGrid,
      @Min(1) @Max(64) @DefaultValue("1") int concurrency,
      @NotNull @DefaultValue("10s") Duration startupTimeout,
      @NotNull @DefaultValue("") String groupId) {

    /** The configured model, or the role's default. */
    public String modelName() {
      return model.isBlank() ? role.defaultModel() : model;
    }

    /** The queue size at which the consumer pauses. */
    public int queueCapacityOrDefault() {
      return queueCapacity > 0 ? queueCapacity : 4 * maxBatchSize;
    }

    /**
     * The configured consumer group, or the role's: {@code encoder-global} / {@code encoder-local}.
     */
    @Override
    public String groupId() {
      return groupId.isBlank() ? "encoder-" + role.id() : groupId;
    }
  }
}

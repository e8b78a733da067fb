package ai.ferretstream.tiler.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The tiler's settings ({@code ferret.*}).
 *
 * <p>The settings every service shares ({@code ferret.kafka.*}: send timeout and retries, {@code
 * ferret.topics.*}) are the starter's.
 *
 * @param tiler tiling, image limits and the requests listener
 */
@ConfigurationProperties("ferret")
@Validated
record TilerProperties(@Valid @DefaultValue Tiler tiler) {

  /**
   * Tiling settings.
   *
   * @param tileSize edge of one square tile in pixels (the encoders' input size)
   * @param grids candidate grids as {@code <cols>x<rows>}, in preference order for exact ties
   * @param mode how the image is fitted onto the grid canvas: {@code stretch} (Ferret-UI) or {@code
   *     pad} (LLaVA: aspect-preserving, black, centred)
   * @param simd resample with the JDK Vector API when the JVM has {@code jdk.incubator.vector}
   * @param parallelism threads one image may use while no other image is being tiled; 0 = one per
   *     available processor
   * @param maxImageSize largest encoded image accepted
   * @param maxPixels largest decoded image accepted, width x height, checked from the header
   * @param concurrency listener threads (tiling is CPU-bound: up to the cores available)
   * @param groupId consumer group of the requests listener (lag-based autoscaling watches it)
   * @param sendWindow requests whose tiles may be on their way to the broker at once; the listener
   *     goes on tiling meanwhile (its commits never pass an unacknowledged request)
   * @param replyPartitionsRefresh least time between two reads of the answers topic's partition
   *     count, which requests' {@code reply_to.partition} is checked against; a partition beyond
   *     the count read makes the tiler read it again once this passed (a partition added to the
   *     topic is accepted after at most this long)
   * @param sharedTiles with the shared-memory store ({@code ferret.features.shared-memory.enabled},
   *     ADR 0012), write the tiles' pixels there instead of into the tile records; false keeps the
   *     store for the feature cache alone (ADR 0018)
   */
  public record Tiler(
      @Min(14) @Max(4096) @DefaultValue("336") int tileSize,
      @NotEmpty
          @DefaultValue({
            "1x1", "1x2", "2x1", "1x3", "3x1", "1x4", "4x1", "1x5", "5x1", "1x6", "6x1", "2x2",
            "2x3", "3x2"
          })
          List<@Pattern(regexp = "\\s*\\d{1,3}\\s*x\\s*\\d{1,3}\\s*") String> grids,
      @NotNull @Pattern(regexp = "(?i)stretch|pad") @DefaultValue("stretch") String mode,
      @DefaultValue("true") boolean simd,
      @Min(0) @Max(256) @DefaultValue("0") int parallelism,
      @NotNull @DefaultValue("20MB") DataSize maxImageSize,
      @Min(1) @DefaultValue("40000000") long maxPixels,
      @Min(1) @Max(64) @DefaultValue("1") int concurrency,
      @NotBlank @DefaultValue("tiler-service") String groupId,
      @Min(1) @Max(1024) @DefaultValue("8") int sendWindow,
      @NotNull @DefaultValue("10s") Duration replyPartitionsRefresh,
      @DefaultValue("true") boolean sharedTiles) {}
}

package ai.ferretstream.boot.features;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The feature cache ({@code ferret.feature-cache.*}, ADR 0018): an image's feature maps kept in the
 * host-local shared-memory store, so that follow-up questions about it are neither tiled nor
 * encoded again. It needs the store ({@code ferret.features.shared-memory.enabled}); the tiler and
 * both encoders must agree on it and on the models.
 *
 * @param enabled the tiler looks images up and the encoders store what they encode
 * @param maxBytes most bytes of cached maps (on top of the store's own {@code max-bytes}); beyond
 *     it the least recently used images are evicted
 * @param ttl an image not asked about for this long is removed
 * @param pinnedFor an image asked about this recently is never evicted to make room: longer than a
 *     request may take from the tiler to the llm (its deadline, queueing)
 * @param globalModel the global encoder's model as {@code name} or {@code name@version}; part of
 *     the key, and an encoder stores only for the model it serves
 * @param localModel the same for the local encoder
 */
@ConfigurationProperties("ferret.feature-cache")
@Validated
public record FeatureCacheProperties(
    @DefaultValue("false") boolean enabled,
    @NotNull @DefaultValue("1GB") DataSize maxBytes,
    @NotNull @DefaultValue("30m") Duration ttl,
    @NotNull @DefaultValue("2m") Duration pinnedFor,
    @NotBlank @DefaultValue("clip_vision") String globalModel,
    @NotBlank @DefaultValue("dinov2_vision") String localModel) {}

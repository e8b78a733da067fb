package ai.ferretstream.boot.features;

import ai.ferretstream.proto.triton.SharedMemory;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The host-local shared-memory feature store ({@code ferret.features.shared-memory.*}, ADR 0011):
 * for encoders, fusion and an llm on one host that see the same directory (one {@code ./ferret up},
 * or one pod whose containers share a memory volume). Off by default: feature maps then travel
 * through {@code ferret.features} in Kafka.
 *
 * @param enabled encoders write their maps to the store (Kafka when it is full), fusion and the llm
 *     read the files that notices name; every service of a pipeline must agree
 * @param directory where the files lie; empty = {@code ferret-features} under {@code /dev/shm} (the
 *     JVM's temporary directory where there is none)
 * @param maxBytes most bytes the store holds; beyond it encoders publish to Kafka
 * @param ttl how long an unreleased file is kept: longer than a request may take to reach the llm
 */
@ConfigurationProperties("ferret.features.shared-memory")
@Validated
public record SharedFeatureStoreProperties(
    @DefaultValue("false") boolean enabled,
    @DefaultValue("") String directory,
    @NotNull @DefaultValue("1GB") DataSize maxBytes,
    @NotNull @DefaultValue("10m") Duration ttl) {

  /** {@link #directory}, or the default under {@code /dev/shm}. */
  public Path path() {
    return directory.isBlank()
        ? SharedMemory.directory().resolve("ferret-features")
        : Path.of(directory);
  }
}

package ai.ferretstream.boot.kafka;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How every service uses Kafka ({@code ferret.kafka.*}). The client settings themselves (bootstrap
 * servers, security) are Spring Boot's {@code spring.kafka.*}.
 *
 * @param sendTimeout how long a stage waits for the broker to acknowledge the records it publishes
 *     for one input (also the producer's {@code max.block.ms}: a send that cannot even start fails
 *     within it)
 * @param retries retries of an input record whose processing failed transiently (broker or
 *     inference server unavailable) before it is given up on: error event and dead letter
 * @param retryBackoff first retry delay; it doubles on each retry, up to ten times this
 * @param commitInterval the least time between two offset commits of a listener that commits itself
 *     (0: after every record); what it skips, the next record or idle event commits
 */
@ConfigurationProperties("ferret.kafka")
@Validated
public record FerretKafkaProperties(
    @NotNull @DefaultValue("10s") Duration sendTimeout,
    @Min(0) @Max(100) @DefaultValue("3") int retries,
    @NotNull @DefaultValue("200ms") Duration retryBackoff,
    @NotNull @DefaultValue("100ms") Duration commitInterval) {}

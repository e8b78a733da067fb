package ai.ferretstream.boot.kafka;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Topic naming and declaration ({@code ferret.topics.*}), the same for every service.
 *
 * @param prefix prefix of every topic name ({@code prod.} gives {@code prod.ferret.requests})
 * @param partitions partitions of the topics a service declares (existing topics keep theirs)
 * @param replication replication factor of the topics a service declares
 */
@ConfigurationProperties("ferret.topics")
@Validated
public record TopicsProperties(
    @NotNull @DefaultValue("") String prefix,
    @Min(1) @DefaultValue("4") int partitions,
    @Min(1) @DefaultValue("1") short replication) {}

package ai.ferretstream.gateway.config;

import jakarta.validation.constraints.Positive;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Topic settings shared by every service ({@code ferret.topics.*}).
 *
 * @param prefix prefix of every topic name
 * @param partitions partitions of the topics this service declares
 * @param replication replication factor of the topics this service declares
 */
@Validated
@ConfigurationProperties("ferret.topics")
public record TopicsProperties(
    @DefaultValue("") String prefix,
    @DefaultValue("4") @Positive int partitions,
    @DefaultValue("1") @Positive short replication) {}

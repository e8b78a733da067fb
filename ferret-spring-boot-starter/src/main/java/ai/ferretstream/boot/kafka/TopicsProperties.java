package ai.ferretstream.boot.kafka;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Topic naming and declaration ({@code ferret.topics.*}), the same for every service.
 *
 * @param prefix prefix of every topic name ({@code prod.} gives {@code prod.ferret.requests})
 * @param partitions partitions of the topics a service declares (existing topics keep theirs)
 * @param replication replication factor of the topics a service declares
 * @param bulkRetention how long the topics between the stages (tiles, feature maps, feature
 *     notices, fused contexts) keep a record: they are useless once their request's deadline has
 *     passed, so keep this a few times the longest request deadline (the gateway's {@code
 *     ferret.gateway.request-timeout}, 60 s by default)
 * @param retention how long requests, answers and control records are kept
 * @param deadLetterRetention how long dead-letter topics keep a record
 * @param deadLetterRetentionSize the most a dead-letter topic keeps per partition (Kafka's {@code
 *     retention.bytes}; the active segment comes on top)
 */
@ConfigurationProperties("ferret.topics")
@Validated
public record TopicsProperties(
    @NotNull @DefaultValue("") String prefix,
    @Min(1) @DefaultValue("4") int partitions,
    @Min(1) @DefaultValue("1") short replication,
    @NotNull @DefaultValue("5m") Duration bulkRetention,
    @NotNull @DefaultValue("1h") Duration retention,
    @NotNull @DefaultValue("24h") Duration deadLetterRetention,
    @NotNull @DefaultValue("64MB") DataSize deadLetterRetentionSize) {

  public TopicsProperties {
    positive("ferret.topics.bulk-retention", bulkRetention);
    positive("ferret.topics.retention", retention);
    positive("ferret.topics.dead-letter-retention", deadLetterRetention);
    if (deadLetterRetentionSize != null && deadLetterRetentionSize.toBytes() <= 0) {
      throw new IllegalArgumentException(
          "ferret.topics.dead-letter-retention-size must be positive, got "
              + deadLetterRetentionSize);
    }
  }

  /** The retention these settings give the topics (checks that every bound is positive). */
  public TopicProvisioner.Retention topicRetention() {
    return new TopicProvisioner.Retention(
        bulkRetention, retention, deadLetterRetention, deadLetterRetentionSize.toBytes());
  }

  private static void positive(String key, Duration value) {
    if (value != null && (value.isZero() || value.isNegative())) {
      throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
  }
}

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
 * @param sessionTimeout the consumers' {@code session.timeout.ms}: how long the broker waits for a
 *     consumer that stopped heart-beating (a killed process) before it hands its partitions to the
 *     others. Kafka's default of 45 s stalled a killed stage's partitions for 46 s (docs/adr/0013)
 * @param heartbeatInterval the consumers' {@code heartbeat.interval.ms} (at most a third of the
 *     session timeout)
 * @param staticMembership whether the listeners' consumers are static group members ({@code
 *     group.instance.id} = {@code <instance name>-<group>}): a process restarted under the same
 *     name (a restarted container or pod keeps its host name) takes its partitions back at once,
 *     without a rebalance and without waiting for the session timeout. Off by default: two
 *     processes with the same name and group fence each other
 * @param instanceName the stable name of this process for static membership; empty: the {@code
 *     HOSTNAME} environment variable, else the host name
 */
@ConfigurationProperties("ferret.kafka")
@Validated
public record FerretKafkaProperties(
    @NotNull @DefaultValue("10s") Duration sendTimeout,
    @Min(0) @Max(100) @DefaultValue("3") int retries,
    @NotNull @DefaultValue("200ms") Duration retryBackoff,
    @NotNull @DefaultValue("100ms") Duration commitInterval,
    @NotNull @DefaultValue("10s") Duration sessionTimeout,
    @NotNull @DefaultValue("3s") Duration heartbeatInterval,
    @DefaultValue("false") boolean staticMembership,
    @NotNull @DefaultValue("") String instanceName) {

  public FerretKafkaProperties {
    if (heartbeatInterval.compareTo(sessionTimeout.dividedBy(3)) > 0) {
      throw new IllegalArgumentException(
          "ferret.kafka.heartbeat-interval ("
              + heartbeatInterval
              + ") must be at most a third of ferret.kafka.session-timeout ("
              + sessionTimeout
              + ")");
    }
  }

  /**
   * The {@code group.instance.id} of a listener's consumers in {@code groupId}, or {@code null}
   * when static membership is off. Spring Kafka appends {@code -<n>} per consumer of a concurrent
   * container.
   */
  public String groupInstanceId(String groupId) {
    if (!staticMembership) {
      return null;
    }
    return resolvedInstanceName() + "-" + groupId;
  }

  String resolvedInstanceName() {
    if (!instanceName.isBlank()) {
      return instanceName;
    }
    String host = System.getenv("HOSTNAME");
    if (host != null && !host.isBlank()) {
      return host;
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(
          "ferret.kafka.static-membership needs ferret.kafka.instance-name: no host name", e);
    }
  }
}

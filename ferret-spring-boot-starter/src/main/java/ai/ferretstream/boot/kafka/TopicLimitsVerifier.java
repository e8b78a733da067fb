package ai.ferretstream.boot.kafka;

import ai.ferretstream.boot.task.StartupCheck;
import ai.ferretstream.proto.kafka.KafkaLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.springframework.kafka.core.KafkaAdmin;

/**
 * Checks at start-up, after the topics were declared and before any listener starts, that every
 * topic this service uses accepts records of {@link KafkaLimits#MAX_RECORD_BYTES}. A topic created
 * elsewhere with a smaller {@code max.message.bytes} would otherwise make large requests fail or
 * hang at run time; here start-up fails with a message naming the topic and both limits.
 */
public final class TopicLimitsVerifier extends StartupCheck {

  private final KafkaAdmin admin;
  private final Collection<String> topics;
  private final int requiredBytes;

  /** How long a just-declared topic may stay unknown to the broker that answers. */
  static final Duration CREATION_GRACE = Duration.ofSeconds(10);

  public TopicLimitsVerifier(KafkaAdmin admin, Collection<String> topics) {
    this(admin, topics, KafkaLimits.MAX_RECORD_BYTES);
  }

  public TopicLimitsVerifier(KafkaAdmin admin, Collection<String> topics, int requiredBytes) {
    super(TOPICS_PHASE);
    this.admin = admin;
    this.topics = List.copyOf(topics);
    this.requiredBytes = requiredBytes;
  }

  /** Runs the check now. */
  @Override
  public void verify() {
    List<ConfigResource> resources =
        topics.stream().map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
    Map<ConfigResource, Config> configs;
    try (AdminClient client = AdminClient.create(admin.getConfigurationProperties())) {
      configs = describe(client, resources);
    } catch (Exception e) {
      throw new IllegalStateException(
          "could not read the configuration of topics " + topics + ": " + e.getMessage(), e);
    }
    List<String> problems = new ArrayList<>();
    for (ConfigResource resource : resources) {
      Config config = configs.get(resource);
      ConfigEntry entry = config == null ? null : config.get("max.message.bytes");
      if (entry == null || entry.value() == null) {
        problems.add(resource.name() + ": max.message.bytes unknown");
        continue;
      }
      long limit = Long.parseLong(entry.value());
      if (limit < requiredBytes) {
        problems.add(
            resource.name() + ": max.message.bytes=" + limit + " < required " + requiredBytes);
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException(
          "Kafka topic limits are too small for Ferret Stream records (raise max.message.bytes on the"
              + " topics and message.max.bytes on the broker): "
              + String.join("; ", problems));
    }
  }

  /**
   * The topics' configurations. A topic this context has just declared may not be known to the
   * broker that answers yet (its metadata propagates after the creation returned): asked again for
   * up to {@link #CREATION_GRACE} before it counts as missing.
   */
  private static Map<ConfigResource, Config> describe(
      AdminClient client, List<ConfigResource> resources) throws Exception {
    long deadline = System.nanoTime() + CREATION_GRACE.toNanos();
    while (true) {
      try {
        return client.describeConfigs(resources).all().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }
}

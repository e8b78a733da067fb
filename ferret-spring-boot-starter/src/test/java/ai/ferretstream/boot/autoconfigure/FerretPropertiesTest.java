package ai.ferretstream.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.TopicsProperties;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class FerretPropertiesTest {

  private static <T> T bind(String prefix, Class<T> type, Map<String, String> settings) {
    return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate(prefix, type);
  }

  @Test
  void inferenceDefaultsToTheLocalServerWithTensorSizedMessages() {
    InferenceProperties inference = bind("ferret.inference", InferenceProperties.class, Map.of());

    assertThat(inference.enabled()).isFalse();
    assertThat(inference.target()).isEqualTo("localhost:8001");
    assertThat(inference.callTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(inference.maxMessageSize().toMegabytes()).isEqualTo(64);
    assertThat(inference.maxMessageBytes()).isEqualTo(64 << 20);
    assertThat(inference.verifyOnStartup()).isTrue();
    assertThat(inference.balancing().policy()).isEqualTo("pick_first");
  }

  @Test
  void anUnknownBalancingPolicyIsRefused() {
    InferenceProperties inference =
        bind(
            "ferret.inference",
            InferenceProperties.class,
            Map.of("ferret.inference.load-balancing", "least_request"));

    assertThatThrownBy(inference::balancing)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("least_request");
  }

  @Test
  void kafkaAndTopicsBindTheirKeys() {
    Map<String, String> settings =
        Map.of(
            "ferret.kafka.retries", "0",
            "ferret.kafka.retry-backoff", "50ms",
            "ferret.topics.prefix", "it.",
            "ferret.topics.partitions", "2");

    FerretKafkaProperties kafka = bind("ferret.kafka", FerretKafkaProperties.class, settings);
    TopicsProperties topics = bind("ferret.topics", TopicsProperties.class, settings);

    assertThat(kafka.retries()).isZero();
    assertThat(kafka.retryBackoff()).isEqualTo(Duration.ofMillis(50));
    assertThat(kafka.sendTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(topics.prefix()).isEqualTo("it.");
    assertThat(topics.partitions()).isEqualTo(2);
    assertThat(topics.replication()).isEqualTo((short) 1);
  }
}

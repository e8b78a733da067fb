package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * The broker of {@code ./ferret up}: its disk stays bounded (a 1,400-request run once grew its log
 * directory to 26 GB), whatever topics the services declare.
 */
class LocalStackBrokerTest {

  @Test
  void deletesExpiredSegmentsWithinHalfAMinuteAndCapsEveryPartition() throws Exception {
    EmbeddedKafkaKraftBroker broker = LocalStack.broker(1, 0);
    broker.afterPropertiesSet();
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()))) {
      String id =
          Integer.toString(
              admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).iterator().next().id());
      ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, id);
      Map<String, String> config = new HashMap<>();
      for (ConfigEntry e :
          admin
              .describeConfigs(List.of(resource))
              .all()
              .get(30, TimeUnit.SECONDS)
              .get(resource)
              .entries()) {
        config.put(e.name(), e.value());
      }

      // Kafka checks every 5 minutes by default: expired tiles and maps would stay that long
      assertThat(config).containsEntry("log.retention.check.interval.ms", "30000");
      // a backstop per partition for topics without their own retention.bytes
      assertThat(config).containsEntry("log.retention.bytes", Long.toString(512L << 20));
      assertThat(config).containsEntry("message.max.bytes", "16777216");
    } finally {
      broker.destroy();
    }
  }

  /** {@code ./ferret up --kafka-port N} (default 9092): clients find the broker on that port. */
  @Test
  void listensOnTheKafkaPortItIsGiven() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    EmbeddedKafkaKraftBroker broker = LocalStack.broker(1, port);
    broker.afterPropertiesSet();
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                LocalStack.bootstrapServers(broker, port)))) {
      assertThat(LocalStack.bootstrapServers(broker, port)).isEqualTo("localhost:" + port);
      assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS))
          .singleElement()
          .satisfies(node -> assertThat(node.port()).isEqualTo(port));
    } finally {
      broker.destroy();
    }
  }
}

package ai.ferretstream.boot.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * A consumer group member with the starter's consumer settings, run as its own process by {@link
 * GroupRecoveryIT} so that it can be killed with SIGKILL: no leave-group request, no last
 * heartbeat, as when a stage's container is killed.
 *
 * <p>Arguments: bootstrap servers, topic, group, {@code group.instance.id} or {@code -}. Prints
 * {@code assigned <n>} whenever it has been given partitions, then polls until killed.
 */
public final class GroupMember {

  private GroupMember() {}

  public static void main(String[] args) {
    try (Consumer<String, Object> consumer = consumer(args[0], args[2], args[3])) {
      consumer.subscribe(
          List.of(args[1]),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
              System.out.println("assigned " + consumer.assignment().size());
              System.out.flush();
            }
          });
      while (true) {
        consumer.poll(Duration.ofMillis(100));
      }
    }
  }

  /** A consumer of the starter's consumer factory with its default {@code ferret.kafka.*}. */
  static Consumer<String, Object> consumer(String bootstrap, String group, String instanceId) {
    FerretKafkaProperties defaults =
        new Binder(new MapConfigurationPropertySource(Map.of()))
            .bindOrCreate("ferret.kafka", FerretKafkaProperties.class);
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    if (!"-".equals(instanceId)) {
      config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
    }
    return FerretKafka.consumerFactory(config, defaults).createConsumer();
  }
}

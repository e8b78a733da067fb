package ai.ferretstream.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.FerretListeners;
import ai.ferretstream.boot.kafka.ServiceInstance;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.TopicLimitsVerifier;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.TopicCatalog;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.listener.CommonErrorHandler;
import org.springframework.kafka.listener.ContainerProperties.AckMode;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * What a service gets from the starter, and what it can replace, against a real KRaft broker (the
 * context declares its topics and checks their record limits at start-up).
 */
class FerretAutoConfigurationIT {

  static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = new EmbeddedKafkaKraftBroker(1, 1);
    broker.afterPropertiesSet();
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.destroy();
    }
  }

  private ApplicationContextRunner runner() {
    return new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                FerretKafkaAutoConfiguration.class,
                FerretInferenceAutoConfiguration.class,
                FerretFeaturesAutoConfiguration.class,
                KafkaAutoConfiguration.class))
        .withPropertyValues(
            "spring.application.name=test-service",
            "spring.kafka.bootstrap-servers=" + broker.getBrokersAsString());
  }

  @Test
  void aServiceGetsTheSharedKafkaWiringFromItsSettings() {
    runner()
        .withPropertyValues("ferret.topics.prefix=wired.", "ferret.kafka.send-timeout=3s")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(ServiceName.class).value()).isEqualTo("test-service");
              assertThat(context.getBean(ServiceInstance.class).controlGroup())
                  .startsWith("test-service-")
                  .endsWith("-control");
              assertThat(context.getBean(TopicCatalog.class).requests())
                  .isEqualTo("wired.ferret.requests");
              assertThat(context).hasBean("ferretTopics");
              assertThat(context).hasSingleBean(TopicLimitsVerifier.class);
              assertThat(context).hasSingleBean(DurablePublisher.class);
              assertThat(context).hasBean(FerretListeners.BROADCAST);

              DefaultKafkaProducerFactory<?, ?> producers =
                  context.getBean(DefaultKafkaProducerFactory.class);
              assertThat(producers.getConfigurationProperties())
                  .containsEntry(
                      ProducerConfig.MAX_REQUEST_SIZE_CONFIG, KafkaLimits.MAX_RECORD_BYTES)
                  .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
                  .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000L);
              DefaultKafkaConsumerFactory<?, ?> consumers =
                  context.getBean(DefaultKafkaConsumerFactory.class);
              assertThat(consumers.getConfigurationProperties())
                  .containsEntry(
                      ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, KafkaLimits.MAX_RECORD_BYTES)
                  .containsEntry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false)
                  // a killed stage's partitions wait 10 s, not Kafka's 45 s (docs/adr/0013)
                  .containsEntry(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000)
                  .containsEntry(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);

              ConcurrentKafkaListenerContainerFactory<?, ?> listeners =
                  context.getBean(
                      "kafkaListenerContainerFactory",
                      ConcurrentKafkaListenerContainerFactory.class);
              assertThat(listeners.getContainerProperties().getAckMode()).isEqualTo(AckMode.RECORD);
              assertThat(listeners.getConsumerFactory()).isSameAs(consumers);
              assertThat(context.getBean(CommonErrorHandler.class))
                  .isInstanceOf(DefaultErrorHandler.class);
            });
  }

  @Test
  void staticMembershipNamesTheSharedGroupsConsumersAfterTheInstance() {
    runner()
        .withPropertyValues(
            "ferret.kafka.static-membership=true", "ferret.kafka.instance-name=stage-host-1")
        .run(
            context -> {
              assertThat(consumerProperties(context, "encoder-local"))
                  .containsEntry(
                      ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "stage-host-1-encoder-local");
              // this instance's own control group stays dynamic
              String control = context.getBean(ServiceInstance.class).controlGroup();
              assertThat(consumerProperties(context, control))
                  .doesNotContainKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
            });
    // and without static membership no consumer has an instance id
    runner()
        .run(
            context ->
                assertThat(consumerProperties(context, "encoder-local"))
                    .doesNotContainKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG));
  }

  /** The consumer properties of a container the listener factory makes for {@code group}. */
  @SuppressWarnings("unchecked")
  private static Properties consumerProperties(ApplicationContext context, String group) {
    ConcurrentKafkaListenerContainerFactory<String, Object> listeners =
        context.getBean(
            "kafkaListenerContainerFactory", ConcurrentKafkaListenerContainerFactory.class);
    listeners.getContainerProperties().setGroupId(group);
    return listeners
        .createContainer("some-topic")
        .getContainerProperties()
        .getKafkaConsumerProperties();
  }

  @Test
  void aServiceThatCallsNoModelGetsNoInferenceChannel() {
    runner()
        .withPropertyValues("ferret.inference.target=localhost:8001")
        .run(context -> assertThat(context).doesNotHaveBean(ManagedChannel.class));
  }

  @Test
  void aServiceThatCallsModelsGetsOneChannel() {
    runner()
        .withPropertyValues("ferret.inference.enabled=true")
        .run(
            context -> {
              assertThat(context).hasSingleBean(ManagedChannel.class);
              assertThat(context.getBean(ManagedChannel.class).authority())
                  .isEqualTo("localhost:8001");
            });
  }

  @Test
  void theSharedFeatureStoreIsOffByDefaultAndTakesItsDirectory(@TempDir Path directory) {
    runner().run(context -> assertThat(context).doesNotHaveBean(SharedFeatureStore.class));
    runner()
        .withPropertyValues(
            "ferret.features.shared-memory.enabled=true",
            "ferret.features.shared-memory.directory=" + directory.resolve("store"),
            "ferret.features.shared-memory.ttl=2m")
        .run(
            context -> {
              SharedFeatureStore store = context.getBean(SharedFeatureStore.class);
              assertThat(store.directory()).isEqualTo(directory.resolve("store"));
              assertThat(directory.resolve("store")).isDirectory();
              // its sweeper runs with the context
              assertThat(store.isRunning()).isTrue();
            });
  }

  @Test
  void sharedMemoryIsOffByDefaultAndNeedsOneServer() {
    runner()
        .withPropertyValues("ferret.inference.enabled=true")
        .run(context -> assertThat(context).doesNotHaveBean(SharedMemoryPool.class));
    runner()
        .withPropertyValues(
            "ferret.inference.enabled=true",
            "ferret.inference.shared-memory.enabled=true",
            "ferret.inference.shared-memory.slots=2",
            "ferret.inference.shared-memory.slot-size=1MB",
            "spring.application.name=encoder-service")
        .run(
            context -> {
              SharedMemoryPool pool = context.getBean(SharedMemoryPool.class);
              assertThat(pool.slotBytes()).isEqualTo(1 << 20);
              assertThat(pool.key()).startsWith("/ferret-encoder-service-");
            });
    runner()
        .withPropertyValues(
            "ferret.inference.enabled=true",
            "ferret.inference.shared-memory.enabled=true",
            "ferret.inference.load-balancing=round_robin")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("needs ferret.inference.load-balancing: pick_first"));
  }

  @Test
  void aServiceBeanReplacesTheStartersOwn() {
    Clock fixed = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);
    runner()
        .withBean(Clock.class, () -> fixed)
        .withBean(ServiceName.class, () -> new ServiceName("renamed"))
        .run(
            context -> {
              assertThat(context.getBean(Clock.class)).isSameAs(fixed);
              assertThat(context.getBean(ServiceName.class).value()).isEqualTo("renamed");
              assertThat(context.getBean(ServiceInstance.class).id()).startsWith("renamed-");
            });
  }

  @Test
  void aServiceWithoutANameFailsToStart() {
    new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(FerretKafkaAutoConfiguration.class, KafkaAutoConfiguration.class))
        .withPropertyValues("spring.kafka.bootstrap-servers=" + broker.getBrokersAsString())
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasRootCauseMessage("spring.application.name must name the service"));
  }
}

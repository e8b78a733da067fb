package ai.ferretstream.boot.autoconfigure;

import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.FerretListeners;
import ai.ferretstream.boot.kafka.ServiceInstance;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.TopicLimitsVerifier;
import ai.ferretstream.boot.kafka.TopicProvisioner;
import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.boot.kafka.TopicsProperties;
import ai.ferretstream.proto.kafka.TopicCatalog;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaConsumerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.CommonErrorHandler;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.ContainerProperties.AckMode;

/**
 * The Kafka wiring every Ferret Stream service shares, from {@code spring.kafka.*} (client
 * settings), {@code ferret.kafka.*} and {@code ferret.topics.*}:
 *
 * <ul>
 *   <li>the {@link TopicCatalog}, one {@link NewTopic} per pipeline and dead-letter topic, and the
 *       {@link TopicLimitsVerifier} that fails start-up when a topic cannot take our records;
 *   <li>a protobuf producer factory sized for multi-MB records ({@code acks=all}, idempotent) and
 *       its {@link KafkaTemplate}; a {@link DurablePublisher} on it;
 *   <li>one consumer factory for every listener (each value read as its topic's type);
 *   <li>the error policy: a {@link ConsumerRecordRecoverer} that sends the waiting client an error
 *       event and the record to {@code <topic>.dlt}, and the error handler around it;
 *   <li>{@code kafkaListenerContainerFactory}, the container factory of every
 *       {@code @KafkaListener}: record acknowledgement after the listener returns, the error
 *       handler;
 *   <li>{@link FerretListeners#BROADCAST}, the container set-up of per-instance listeners;
 *   <li>the {@link ServiceName}, the {@link ServiceInstance} and a UTC {@link Clock}.
 * </ul>
 *
 * Each bean backs off when the application defines its own. Runs before Spring Boot's Kafka
 * auto-configuration, whose factories then back off; Boot's {@code *FactoryCustomizer} beans (e.g.
 * Micrometer client metrics) still apply.
 */
@AutoConfiguration(before = KafkaAutoConfiguration.class)
@ConditionalOnClass(KafkaTemplate.class)
@EnableConfigurationProperties({
  KafkaProperties.class,
  FerretKafkaProperties.class,
  TopicsProperties.class
})
public class FerretKafkaAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  ServiceName ferretServiceName(Environment environment) {
    return new ServiceName(environment.getProperty("spring.application.name", ""));
  }

  @Bean
  @ConditionalOnMissingBean
  ServiceInstance ferretServiceInstance(ServiceName service) {
    return ServiceInstance.of(service);
  }

  @Bean
  @ConditionalOnMissingBean
  Clock clock() {
    return Clock.systemUTC();
  }

  @Bean
  @ConditionalOnMissingBean
  TopicCatalog topicCatalog(TopicsProperties topics) {
    return new TopicCatalog(topics.prefix());
  }

  /**
   * Every pipeline topic and its dead-letter topic, with the retention of {@code ferret.topics.*};
   * Spring's {@code KafkaAdmin} creates the missing ones.
   */
  @Bean
  @ConditionalOnMissingBean(name = "ferretTopics")
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, TopicsProperties topics) {
    List<NewTopic> declared =
        TopicProvisioner.declarations(
            catalog, topics.partitions(), topics.replication(), topics.topicRetention());
    return new KafkaAdmin.NewTopics(declared.toArray(NewTopic[]::new));
  }

  /** The topics named by the service's {@link TopicUsage}, or else every catalog topic. */
  @Bean
  @ConditionalOnMissingBean
  TopicLimitsVerifier topicLimitsVerifier(
      KafkaAdmin admin, TopicCatalog catalog, ObjectProvider<TopicUsage> usage) {
    TopicUsage used = usage.getIfAvailable(() -> new TopicUsage(catalog.allTopicNames()));
    return new TopicLimitsVerifier(admin, used.topics());
  }

  @Bean
  @ConditionalOnMissingBean(ProducerFactory.class)
  DefaultKafkaProducerFactory<String, Object> kafkaProducerFactory(
      KafkaProperties kafka,
      FerretKafkaProperties ferret,
      ObjectProvider<DefaultKafkaProducerFactoryCustomizer> customizers) {
    Map<String, Object> config = kafka.buildProducerProperties();
    // a send that cannot even start (no metadata, full buffer) fails within the send timeout
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ferret.sendTimeout().toMillis());
    DefaultKafkaProducerFactory<String, Object> factory = FerretKafka.producerFactory(config);
    customizers.orderedStream().forEach(customizer -> customizer.customize(factory));
    return factory;
  }

  @Bean
  @ConditionalOnMissingBean(KafkaOperations.class)
  KafkaTemplate<String, Object> kafkaTemplate(ProducerFactory<String, Object> producerFactory) {
    return new KafkaTemplate<>(producerFactory);
  }

  @Bean
  @ConditionalOnMissingBean
  DurablePublisher durablePublisher(
      KafkaOperations<String, Object> kafkaTemplate, FerretKafkaProperties ferret) {
    return new DurablePublisher(kafkaTemplate, ferret.sendTimeout());
  }

  @Bean
  @ConditionalOnMissingBean(ConsumerFactory.class)
  DefaultKafkaConsumerFactory<String, Object> kafkaConsumerFactory(
      KafkaProperties kafka,
      FerretKafkaProperties ferret,
      ObjectProvider<DefaultKafkaConsumerFactoryCustomizer> customizers) {
    DefaultKafkaConsumerFactory<String, Object> factory =
        FerretKafka.consumerFactory(kafka.buildConsumerProperties(), ferret);
    customizers.orderedStream().forEach(customizer -> customizer.customize(factory));
    return factory;
  }

  /** What happens to a record given up on: error event to the client, copy to the DLT. */
  @Bean
  @ConditionalOnMissingBean
  ConsumerRecordRecoverer ferretRecoverer(
      KafkaOperations<String, Object> kafkaTemplate, TopicCatalog catalog, ServiceName service) {
    return FerretKafka.recoverer(kafkaTemplate, catalog, service.value());
  }

  @Bean
  @ConditionalOnMissingBean
  CommonErrorHandler ferretErrorHandler(
      ConsumerRecordRecoverer ferretRecoverer, FerretKafkaProperties ferret) {
    return FerretKafka.errorHandler(ferretRecoverer, ferret.retries(), ferret.retryBackoff());
  }

  /**
   * The container factory of every {@code @KafkaListener}: offsets committed after each record's
   * listener call returned (its outputs are durable by then), the shared error handler. A listener
   * that commits itself or reads batches says so on its annotation ({@code batch}, {@code
   * containerPostProcessor}). With {@code ferret.kafka.static-membership} the consumers of shared
   * groups are static members (not those of this instance's own control group).
   */
  @Bean
  @ConditionalOnMissingBean(name = "kafkaListenerContainerFactory")
  ConcurrentKafkaListenerContainerFactory<String, Object> kafkaListenerContainerFactory(
      ConsumerFactory<String, Object> consumerFactory,
      CommonErrorHandler ferretErrorHandler,
      FerretKafkaProperties ferret,
      ServiceInstance instance) {
    ConcurrentKafkaListenerContainerFactory<String, Object> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(consumerFactory);
    factory.setCommonErrorHandler(ferretErrorHandler);
    factory.getContainerProperties().setAckMode(AckMode.RECORD);
    factory.setContainerCustomizer(
        container -> {
          String group = container.getGroupId();
          String instanceId =
              group == null || group.equals(instance.controlGroup())
                  ? null
                  : ferret.groupInstanceId(group);
          if (instanceId != null) {
            ContainerProperties settings = container.getContainerProperties();
            // a copy: the factory's properties object is shared by every container
            Properties consumer = new Properties();
            consumer.putAll(settings.getKafkaConsumerProperties());
            consumer.setProperty(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
            settings.setKafkaConsumerProperties(consumer);
          }
        });
    return factory;
  }

  /** See {@link FerretListeners#BROADCAST}. */
  @Bean(FerretListeners.BROADCAST)
  @ConditionalOnMissingBean(name = FerretListeners.BROADCAST)
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      ferretBroadcastListener(ConsumerRecordRecoverer ferretRecoverer) {
    return container -> {
      container.getContainerProperties().setAckMode(AckMode.MANUAL);
      container.setCommonErrorHandler(
          FerretKafka.errorHandler(ferretRecoverer, 0, Duration.ofMillis(100)));
    };
  }
}

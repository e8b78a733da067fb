package ai.ferretstream.llm.config;

import ai.ferretstream.llm.LlmApplication;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.TopicLimitsVerifier;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.FusedContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ContainerProperties;

/**
 * Kafka wiring: topic catalog and declarations, the protobuf producer, the fused-context listener
 * container (one record per poll: each record's generation runs on the listener thread, bounded by
 * the request's deadline) and the control listener container (a group of its own per instance,
 * reading from the latest offset, so every instance sees every cancel).
 */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

  @Bean
  TopicCatalog topicCatalog(LlmProperties properties) {
    return new TopicCatalog(properties.topics().prefix());
  }

  /** This instance's identity; names its control consumer group. */
  @Bean
  LlmInstance llmInstance() {
    return new LlmInstance(UUID.randomUUID().toString());
  }

  @Bean
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, LlmProperties properties) {
    List<NewTopic> topics =
        FerretKafka.topics(
            catalog, properties.topics().partitions(), properties.topics().replication());
    return new KafkaAdmin.NewTopics(topics.toArray(NewTopic[]::new));
  }

  @Bean
  TopicLimitsVerifier topicLimitsVerifier(KafkaAdmin admin, TopicCatalog catalog) {
    return new TopicLimitsVerifier(
        admin,
        List.of(
            catalog.fused(),
            catalog.deadLetter(Topic.FUSED),
            catalog.answers(),
            catalog.control()));
  }

  @Bean
  ProducerFactory<String, Object> producerFactory(KafkaProperties kafka) {
    Map<String, Object> config = kafka.buildProducerProperties();
    return FerretKafka.producerFactory(config);
  }

  @Bean
  KafkaTemplate<String, Object> kafkaTemplate(ProducerFactory<String, Object> producerFactory) {
    return new KafkaTemplate<>(producerFactory);
  }

  @Bean
  ConsumerFactory<String, FusedContext> fusedConsumerFactory(
      KafkaProperties kafka, LlmProperties properties) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    // the listener thread is busy for a whole generation: take one record at a time and allow
    // the longest generation (plus the error handler's retries) between polls
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
    Duration generation = properties.llm().maxGenerationTime();
    long pollInterval = Math.max(300_000L, generation.toMillis() + 60_000L);
    config.put(
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG,
        (int) Math.min(Integer.MAX_VALUE, pollInterval));
    return FerretKafka.consumerFactory(config, FusedContext.parser());
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, FusedContext> fusedContainerFactory(
      ConsumerFactory<String, FusedContext> fusedConsumerFactory,
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      LlmProperties properties) {
    ConcurrentKafkaListenerContainerFactory<String, FusedContext> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(fusedConsumerFactory);
    factory.setCommonErrorHandler(
        FerretKafka.errorHandler(
            template,
            catalog,
            LlmApplication.SERVICE_NAME,
            properties.llm().retries(),
            properties.llm().retryBackoff()));
    factory.setConcurrency(properties.llm().concurrency());
    factory.getContainerProperties().setAckMode(ContainerProperties.AckMode.RECORD);
    return factory;
  }

  @Bean
  ConsumerFactory<String, Cancel> controlConsumerFactory(KafkaProperties kafka) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    return FerretKafka.consumerFactory(config, Cancel.parser());
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, Cancel> controlContainerFactory(
      ConsumerFactory<String, Cancel> controlConsumerFactory,
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog) {
    ConcurrentKafkaListenerContainerFactory<String, Cancel> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(controlConsumerFactory);
    factory.setCommonErrorHandler(
        FerretKafka.errorHandler(
            template, catalog, LlmApplication.SERVICE_NAME, 0, Duration.ofMillis(100)));
    // nothing to commit: a fresh group per instance that always starts at the latest offset
    factory.getContainerProperties().setAckMode(ContainerProperties.AckMode.MANUAL);
    return factory;
  }
}

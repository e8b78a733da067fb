package ai.ferretstream.fusion.config;

import ai.ferretstream.fusion.FusionApplication;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.TopicLimitsVerifier;
import ai.ferretstream.proto.v1.TileFeatures;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.RetryListener;

/**
 * Kafka wiring: topic catalog and declarations, the protobuf producer, and the features listener
 * container. The container never acknowledges on its own ({@code AckMode.MANUAL}, no acks): the
 * listener commits offsets itself, never past a record of an unfinished join.
 */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

  /** The container factory of the features listener. */
  static final String FEATURES_CONTAINER_FACTORY = "featuresContainerFactory";

  @Bean
  TopicCatalog topicCatalog(FusionProperties properties) {
    return new TopicCatalog(properties.topics().prefix());
  }

  @Bean
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, FusionProperties properties) {
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
            catalog.features(),
            catalog.deadLetter(Topic.FEATURES),
            catalog.fused(),
            catalog.answers()));
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
  ConsumerFactory<String, TileFeatures> featuresConsumerFactory(KafkaProperties kafka) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    return FerretKafka.consumerFactory(config, TileFeatures.parser());
  }

  @Bean
  DefaultErrorHandler featuresErrorHandler(
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      FusionProperties properties,
      RetryListener featureFailures) {
    DefaultErrorHandler handler =
        FerretKafka.errorHandler(
            template,
            catalog,
            FusionApplication.SERVICE_NAME,
            properties.fusion().retries(),
            properties.fusion().retryBackoff());
    // the listener commits; a recovered record must not be committed past an unfinished join
    handler.setAckAfterHandle(false);
    handler.setRetryListeners(featureFailures);
    return handler;
  }

  @Bean(FEATURES_CONTAINER_FACTORY)
  ConcurrentKafkaListenerContainerFactory<String, TileFeatures> featuresContainerFactory(
      ConsumerFactory<String, TileFeatures> featuresConsumerFactory,
      DefaultErrorHandler featuresErrorHandler,
      ConsumerAwareRebalanceListener featurePartitions,
      FusionProperties properties) {
    ConcurrentKafkaListenerContainerFactory<String, TileFeatures> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(featuresConsumerFactory);
    factory.setCommonErrorHandler(featuresErrorHandler);
    factory.setConcurrency(properties.fusion().concurrency());
    ContainerProperties container = factory.getContainerProperties();
    container.setAckMode(ContainerProperties.AckMode.MANUAL);
    container.setConsumerRebalanceListener(featurePartitions);
    container.setIdleEventInterval(properties.fusion().idleCommitInterval().toMillis());
    return factory;
  }
}

package ai.ferretstream.tiler.config;

import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.kafka.spring.FerretKafka;
import ai.ferretstream.proto.kafka.spring.TopicLimitsVerifier;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.tiler.messaging.AskRequestListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.MicrometerConsumerListener;
import org.springframework.kafka.core.MicrometerProducerListener;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.ContainerProperties.AckMode;

/**
 * Kafka wiring: topic names and declarations, a protobuf producer sized for tile records, the
 * request consumer and its listener container with the shared error handler.
 */
@Configuration(proxyBeanMethods = false)
class TilerKafkaConfig {

  /** Service name in dead-letter headers, error events and the consumer group. */
  static final String SERVICE = "tiler-service";

  @Bean
  TopicCatalog topicCatalog(TilerProperties properties) {
    return new TopicCatalog(properties.topics().prefix());
  }

  @Bean
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, TilerProperties properties) {
    List<NewTopic> topics =
        FerretKafka.topics(
            catalog, properties.topics().partitions(), properties.topics().replication());
    return new KafkaAdmin.NewTopics(topics.toArray(NewTopic[]::new));
  }

  /** Fails start-up when a topic this service reads or writes cannot take our largest records. */
  @Bean
  TopicLimitsVerifier topicLimitsVerifier(KafkaAdmin admin, TopicCatalog catalog) {
    return new TopicLimitsVerifier(
        admin,
        List.of(
            catalog.requests(),
            TopicCatalog.deadLetterOf(catalog.requests()),
            catalog.tilesGlobal(),
            catalog.tilesLocal(),
            catalog.answers()));
  }

  @Bean
  ProducerFactory<String, Object> producerFactory(
      KafkaProperties kafka, TilerProperties properties, MeterRegistry meterRegistry) {
    Map<String, Object> config = kafka.buildProducerProperties();
    // a send that cannot even start (no metadata, full buffer) fails within the send timeout
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, properties.tiler().sendTimeout().toMillis());
    DefaultKafkaProducerFactory<String, Object> factory = FerretKafka.producerFactory(config);
    factory.addListener(new MicrometerProducerListener<>(meterRegistry));
    return factory;
  }

  @Bean
  KafkaTemplate<String, Object> kafkaTemplate(ProducerFactory<String, Object> producerFactory) {
    return new KafkaTemplate<>(producerFactory);
  }

  @Bean
  ConsumerFactory<String, AskRequest> consumerFactory(
      KafkaProperties kafka, TilerProperties properties, MeterRegistry meterRegistry) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    config.put(ConsumerConfig.GROUP_ID_CONFIG, properties.tiler().groupId());
    DefaultKafkaConsumerFactory<String, AskRequest> factory =
        FerretKafka.consumerFactory(config, AskRequest.parser());
    factory.addListener(new MicrometerConsumerListener<>(meterRegistry));
    return factory;
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, AskRequest> kafkaListenerContainerFactory(
      ConsumerFactory<String, AskRequest> consumerFactory,
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      TilerProperties properties) {
    ConcurrentKafkaListenerContainerFactory<String, AskRequest> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(consumerFactory);
    factory.setConcurrency(properties.tiler().concurrency());
    factory.getContainerProperties().setAckMode(AckMode.RECORD);
    factory.setCommonErrorHandler(
        FerretKafka.errorHandler(
            template,
            catalog,
            SERVICE,
            properties.tiler().retries(),
            properties.tiler().retryBackoff()));
    return factory;
  }

  /** The container feeding {@code ferret.requests} to the listener. */
  @Bean
  ConcurrentMessageListenerContainer<String, AskRequest> askRequestContainer(
      ConcurrentKafkaListenerContainerFactory<String, AskRequest> factory,
      TopicCatalog catalog,
      TilerProperties properties,
      AskRequestListener listener) {
    ConcurrentMessageListenerContainer<String, AskRequest> container =
        factory.createContainer(catalog.requests());
    container.getContainerProperties().setGroupId(properties.tiler().groupId());
    container.getContainerProperties().setClientId(SERVICE);
    container.setupMessageListener(listener);
    return container;
  }
}

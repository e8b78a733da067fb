package ai.ferretstream.encoder.config;

import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.messaging.EncodingPipeline;
import ai.ferretstream.encoder.messaging.TileIntake;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.kafka.spring.FerretKafka;
import ai.ferretstream.proto.kafka.spring.TopicLimitsVerifier;
import ai.ferretstream.proto.v1.Tile;
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
 * Kafka wiring: topic names and declarations, a protobuf producer sized for feature records, the
 * batch consumer of the role's tile topic and its listener container with the shared error handler.
 */
@Configuration(proxyBeanMethods = false)
class EncoderKafkaConfig {

  /** How soon finished tiles are committed while no records arrive (or the consumer is paused). */
  static final java.time.Duration IDLE_COMMIT_INTERVAL = java.time.Duration.ofMillis(500);

  /** Service name in dead-letter headers and error events. */
  static final String SERVICE = "encoder-service";

  @Bean
  TopicCatalog topicCatalog(EncoderProperties properties) {
    return new TopicCatalog(properties.topics().prefix());
  }

  /** The tile topic this role reads. */
  static String inputTopic(TopicCatalog catalog, EncoderRole role) {
    return role == EncoderRole.GLOBAL ? catalog.tilesGlobal() : catalog.tilesLocal();
  }

  @Bean
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, EncoderProperties properties) {
    List<NewTopic> topics =
        FerretKafka.topics(
            catalog, properties.topics().partitions(), properties.topics().replication());
    return new KafkaAdmin.NewTopics(topics.toArray(NewTopic[]::new));
  }

  /** Fails start-up when a topic this service reads or writes cannot take our largest records. */
  @Bean
  TopicLimitsVerifier topicLimitsVerifier(
      KafkaAdmin admin, TopicCatalog catalog, EncoderProperties properties) {
    String input = inputTopic(catalog, properties.encoder().role());
    return new TopicLimitsVerifier(
        admin,
        List.of(input, TopicCatalog.deadLetterOf(input), catalog.features(), catalog.answers()));
  }

  @Bean
  ProducerFactory<String, Object> producerFactory(
      KafkaProperties kafka, EncoderProperties properties, MeterRegistry meterRegistry) {
    Map<String, Object> config = kafka.buildProducerProperties();
    // a send that cannot even start (no metadata, full buffer) fails within the send timeout
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, properties.encoder().sendTimeout().toMillis());
    DefaultKafkaProducerFactory<String, Object> factory = FerretKafka.producerFactory(config);
    factory.addListener(new MicrometerProducerListener<>(meterRegistry));
    return factory;
  }

  @Bean
  KafkaTemplate<String, Object> kafkaTemplate(ProducerFactory<String, Object> producerFactory) {
    return new KafkaTemplate<>(producerFactory);
  }

  @Bean
  ConsumerFactory<String, Tile> consumerFactory(
      KafkaProperties kafka, EncoderProperties properties, MeterRegistry meterRegistry) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    config.put(ConsumerConfig.GROUP_ID_CONFIG, properties.encoder().groupId());
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, properties.encoder().maxBatchSize());
    DefaultKafkaConsumerFactory<String, Tile> factory =
        FerretKafka.consumerFactory(config, Tile.parser());
    factory.addListener(new MicrometerConsumerListener<>(meterRegistry));
    return factory;
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, Tile> kafkaListenerContainerFactory(
      ConsumerFactory<String, Tile> consumerFactory,
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      EncoderProperties properties) {
    ConcurrentKafkaListenerContainerFactory<String, Tile> factory =
        new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(consumerFactory);
    factory.setBatchListener(true);
    factory.setConcurrency(properties.encoder().concurrency());
    // the intake commits itself, on the consumer thread, only offsets whose tiles are settled
    factory.getContainerProperties().setAckMode(AckMode.MANUAL);
    factory.getContainerProperties().setIdleEventInterval(IDLE_COMMIT_INTERVAL.toMillis());
    factory.setCommonErrorHandler(
        FerretKafka.errorHandler(
            template,
            catalog,
            SERVICE,
            properties.encoder().retries(),
            properties.encoder().retryBackoff()));
    return factory;
  }

  /**
   * The container feeding the role's tile topic to the intake; the batching pipeline pauses and
   * resumes it.
   */
  @Bean
  ConcurrentMessageListenerContainer<String, Tile> tileListenerContainer(
      ConcurrentKafkaListenerContainerFactory<String, Tile> factory,
      TopicCatalog catalog,
      EncoderProperties properties,
      TileIntake intake,
      EncodingPipeline pipeline) {
    ConcurrentMessageListenerContainer<String, Tile> container =
        factory.createContainer(inputTopic(catalog, properties.encoder().role()));
    container.getContainerProperties().setGroupId(properties.encoder().groupId());
    container.getContainerProperties().setClientId(properties.encoder().groupId());
    container.getContainerProperties().setConsumerRebalanceListener(intake);
    container.setupMessageListener(intake);
    pipeline.attach(container::pause, container::resume);
    return container;
  }

  /**
   * {@code ferret.control}, read by a group of this instance's own from the latest offset: every
   * instance sees every cancel; nothing is committed.
   */
  @Bean
  ConcurrentMessageListenerContainer<String, ai.ferretstream.proto.v1.Cancel>
      controlListenerContainer(
          KafkaProperties kafka,
          TopicCatalog catalog,
          EncoderProperties properties,
          ai.ferretstream.proto.kafka.RecentIds cancelled,
          EncodingPipeline pipeline) {
    Map<String, Object> config = kafka.buildConsumerProperties();
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    String group = properties.encoder().groupId() + "-control-" + java.util.UUID.randomUUID();
    config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    ConsumerFactory<String, ai.ferretstream.proto.v1.Cancel> factory =
        FerretKafka.consumerFactory(config, ai.ferretstream.proto.v1.Cancel.parser());
    org.springframework.kafka.listener.ContainerProperties containerProperties =
        new org.springframework.kafka.listener.ContainerProperties(catalog.control());
    containerProperties.setGroupId(group);
    containerProperties.setAckMode(AckMode.MANUAL);
    containerProperties.setMessageListener(
        new ai.ferretstream.encoder.messaging.CancelListener(cancelled, pipeline));
    return new ConcurrentMessageListenerContainer<>(factory, containerProperties);
  }
}

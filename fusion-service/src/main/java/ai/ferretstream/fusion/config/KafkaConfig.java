package ai.ferretstream.fusion.config;

import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.RetryListener;

/**
 * The features listener's container set-up (the Kafka clients, error policy and topics are the
 * starter's). The container never acknowledges on its own ({@code AckMode.MANUAL}, no acks): the
 * listener commits offsets itself, never past a record of an unfinished join.
 */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

  /** The {@code containerPostProcessor} of the features listener. */
  static final String FEATURES_CONTAINER_SETUP = "featuresContainerSetup";

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(TopicCatalog catalog) {
    return TopicUsage.of(
        catalog.features(), catalog.deadLetter(Topic.FEATURES), catalog.fused(), catalog.answers());
  }

  @Bean(FEATURES_CONTAINER_SETUP)
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      featuresContainerSetup(
          ConsumerRecordRecoverer ferretRecoverer,
          FerretKafkaProperties kafka,
          RetryListener featureFailures,
          ConsumerAwareRebalanceListener featurePartitions,
          FusionProperties properties) {
    return container -> {
      DefaultErrorHandler handler =
          FerretKafka.errorHandler(ferretRecoverer, kafka.retries(), kafka.retryBackoff());
      // the listener commits; a recovered record must not be committed past an unfinished join
      handler.setAckAfterHandle(false);
      handler.setRetryListeners(featureFailures);
      container.setCommonErrorHandler(handler);
      ContainerProperties settings = container.getContainerProperties();
      settings.setAckMode(ContainerProperties.AckMode.MANUAL);
      settings.setConsumerRebalanceListener(featurePartitions);
      settings.setIdleEventInterval(properties.fusion().idleCommitInterval().toMillis());
    };
  }
}

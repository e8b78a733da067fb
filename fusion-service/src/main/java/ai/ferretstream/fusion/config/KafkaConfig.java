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
import org.springframework.kafka.listener.RetryListener;

/**
 * The feature-notices listener's container set-up (the Kafka clients, error policy and topics are
 * the starter's). The container never acknowledges on its own ({@code AckMode.MANUAL}, no acks):
 * the listener commits offsets itself, never past a record of an unfinished join.
 */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

  /** The {@code containerPostProcessor} of the features listener. */
  static final String FEATURES_CONTAINER_SETUP = "featuresContainerSetup";

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(TopicCatalog catalog) {
    return TopicUsage.of(
        catalog.featureNotices(),
        catalog.deadLetter(Topic.FEATURE_NOTICES),
        catalog.features(),
        catalog.fused(),
        catalog.answers());
  }

  @Bean(FEATURES_CONTAINER_SETUP)
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      featuresContainerSetup(
          ConsumerRecordRecoverer ferretRecoverer,
          FerretKafkaProperties kafka,
          RetryListener featureFailures,
          ConsumerAwareRebalanceListener featurePartitions,
          FusionProperties properties) {
    // the listener commits; a recovered record must not be committed past an unfinished join
    return container ->
        FerretKafka.committingItself(
                container,
                ferretRecoverer,
                kafka,
                featurePartitions,
                properties.fusion().idleCommitInterval())
            .setRetryListeners(featureFailures);
  }
}

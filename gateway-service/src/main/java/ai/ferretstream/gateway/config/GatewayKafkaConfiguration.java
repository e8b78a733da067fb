package ai.ferretstream.gateway.config;

import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.messaging.AnswerListener;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.proto.kafka.TopicCatalog;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.listener.ContainerProperties;

/**
 * What the gateway adds to the starter's Kafka wiring: a producer that gives up on a request within
 * the gateway's send timeout, the topics it checks, and the answers listener's container, which
 * owns this instance's reply partitions.
 */
@Configuration(proxyBeanMethods = false)
class GatewayKafkaConfiguration {

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(TopicCatalog catalog) {
    return TopicUsage.of(catalog.requests(), catalog.answers(), catalog.control());
  }

  /** A client waits: send at once, and fail a request the broker cannot take in time. */
  @Bean
  DefaultKafkaProducerFactoryCustomizer gatewayProducerTimeouts(GatewayProperties gateway) {
    long sendTimeout = gateway.sendTimeout().toMillis();
    return factory ->
        factory.updateConfigs(
            Map.of(
                ProducerConfig.LINGER_MS_CONFIG,
                0,
                ProducerConfig.MAX_BLOCK_MS_CONFIG,
                sendTimeout,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                (int) Math.max(1, sendTimeout / 2),
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                (int) sendTimeout));
  }

  @Bean
  PendingRequests pendingRequests(GatewayProperties gateway, ServiceName service) {
    return new PendingRequests(gateway.maxInFlight(), service.value());
  }

  @Bean
  ReplyPartitions replyPartitions(TopicCatalog catalog, PendingRequests pending) {
    return new ReplyPartitions(catalog.answers(), pending);
  }

  @Bean
  AnswerListener answerListener(PendingRequests pending) {
    return new AnswerListener(pending);
  }

  /**
   * The answers container: offsets committed per poll (answers are not replayed: a restarted
   * gateway has no client waiting for them), reply partitions tracked on rebalance, and an event
   * that cannot be handled is dead-lettered at once.
   */
  @Bean(AnswerListener.CONTAINER_SETUP)
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      answersContainerSetup(
          ReplyPartitions replyPartitions, ConsumerRecordRecoverer ferretRecoverer) {
    return container -> {
      ContainerProperties settings = container.getContainerProperties();
      settings.setAckMode(ContainerProperties.AckMode.BATCH);
      // answers are read from the latest offset and the waiting requests live in memory: a
      // commit need not hold up the next poll (a synchronous commit after every batch delayed an
      // answer's later events by a coordinator round trip each)
      settings.setSyncCommits(false);
      settings.setConsumerRebalanceListener(replyPartitions);
      container.setCommonErrorHandler(
          FerretKafka.errorHandler(ferretRecoverer, 0, Duration.ofMillis(100)));
    };
  }
}

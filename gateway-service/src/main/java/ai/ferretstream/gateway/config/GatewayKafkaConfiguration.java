package ai.ferretstream.gateway.config;

import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.messaging.AnswerListener;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.TopicLimitsVerifier;
import ai.ferretstream.proto.v1.AnswerEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;

/**
 * Kafka wiring: topic declarations and limits check, the protobuf producer for requests and
 * cancellations, and the answers consumer that owns this instance's reply partitions.
 */
@Configuration(proxyBeanMethods = false)
class GatewayKafkaConfiguration {

  static final String SERVICE = "gateway-service";

  @Bean
  TopicCatalog topicCatalog(TopicsProperties topics) {
    return new TopicCatalog(topics.prefix());
  }

  @Bean
  KafkaAdmin.NewTopics ferretTopics(TopicCatalog catalog, TopicsProperties topics) {
    return new KafkaAdmin.NewTopics(
        FerretKafka.topics(catalog, topics.partitions(), topics.replication())
            .toArray(org.apache.kafka.clients.admin.NewTopic[]::new));
  }

  @Bean
  TopicLimitsVerifier topicLimitsVerifier(KafkaAdmin admin, TopicCatalog catalog) {
    return new TopicLimitsVerifier(
        admin, List.of(catalog.requests(), catalog.answers(), catalog.control()));
  }

  @Bean
  ProducerFactory<String, Object> producerFactory(
      KafkaProperties kafka, GatewayProperties gateway) {
    Map<String, Object> props = kafka.buildProducerProperties();
    long sendTimeout = gateway.sendTimeout().toMillis();
    props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, sendTimeout);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(1, sendTimeout / 2));
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) sendTimeout);
    return FerretKafka.producerFactory(props);
  }

  @Bean
  KafkaTemplate<String, Object> kafkaTemplate(ProducerFactory<String, Object> producerFactory) {
    return new KafkaTemplate<>(producerFactory);
  }

  @Bean
  ConsumerFactory<String, AnswerEvent> answersConsumerFactory(
      KafkaProperties kafka, GatewayProperties gateway) {
    Map<String, Object> props = kafka.buildConsumerProperties();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, gateway.answers().groupId());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    // move only the partitions a rebalance must move: each move fails the requests waiting on it
    props.put(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        CooperativeStickyAssignor.class.getName());
    return FerretKafka.consumerFactory(props, AnswerEvent.parser());
  }

  @Bean
  PendingRequests pendingRequests(GatewayProperties gateway) {
    return new PendingRequests(gateway.maxInFlight());
  }

  @Bean
  ReplyPartitions replyPartitions(TopicCatalog catalog, PendingRequests pending) {
    return new ReplyPartitions(catalog.answers(), pending);
  }

  @Bean
  KafkaMessageListenerContainer<String, AnswerEvent> answersListenerContainer(
      ConsumerFactory<String, AnswerEvent> answersConsumerFactory,
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      GatewayProperties gateway,
      PendingRequests pending,
      ReplyPartitions replyPartitions) {
    ContainerProperties container = new ContainerProperties(catalog.answers());
    container.setGroupId(gateway.answers().groupId());
    container.setMessageListener(new AnswerListener(pending));
    container.setConsumerRebalanceListener(replyPartitions);
    container.setAckMode(ContainerProperties.AckMode.BATCH);
    container.setClientId(SERVICE + "-answers");
    KafkaMessageListenerContainer<String, AnswerEvent> listener =
        new KafkaMessageListenerContainer<>(answersConsumerFactory, container);
    listener.setCommonErrorHandler(
        FerretKafka.errorHandler(template, catalog, SERVICE, 0, Duration.ofMillis(100)));
    return listener;
  }
}

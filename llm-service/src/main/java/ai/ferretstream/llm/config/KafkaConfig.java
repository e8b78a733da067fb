package ai.ferretstream.llm.config;

import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What the llm adds to the starter's Kafka wiring: the topics it checks. Its listeners (the
 * fused-context listener, one record per poll, generating on the listener thread; the control
 * listener, a group of its own per instance) say the rest on their annotations.
 */
@Configuration(proxyBeanMethods = false)
class KafkaConfig {

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(TopicCatalog catalog) {
    return TopicUsage.of(
        catalog.fused(), catalog.deadLetter(Topic.FUSED), catalog.answers(), catalog.control());
  }
}

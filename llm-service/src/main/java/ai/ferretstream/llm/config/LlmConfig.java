package ai.ferretstream.llm.config;

import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.RecentIds;
import ai.ferretstream.llm.domain.PromptRenderer;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The domain objects. */
@Configuration(proxyBeanMethods = false)
public class LlmConfig {

  @Bean
  PromptRenderer promptRenderer(LlmProperties properties) {
    return new PromptRenderer(properties.llm().template().toDomain());
  }

  /**
   * The requests cancelled on {@code ferret.control} (the starter's listener, one per instance):
   * their generations stop, and later ones are not started ({@code cancelled-memory} ids, each kept
   * {@code cancelled-ttl}).
   */
  @Bean
  CancelledRequests cancelledRequests(LlmProperties properties, Clock clock) {
    LlmProperties.Llm llm = properties.llm();
    return new CancelledRequests(
        new RecentIds(llm.cancelledMemory(), llm.cancelledTtl(), clock::millis));
  }
}

package ai.ferretstream.llm.config;

import ai.ferretstream.llm.domain.PromptRenderer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The domain objects, and the fused-context listener's poll interval. */
@Configuration(proxyBeanMethods = false)
public class LlmConfig {

  private final LlmProperties properties;

  LlmConfig(LlmProperties properties) {
    this.properties = properties;
  }

  /**
   * The fused-context consumer's {@code max.poll.interval.ms}: its thread is busy for a whole
   * generation, so room for the longest one plus the error handler's retries, at least Kafka's
   * default five minutes.
   */
  public long maxPollIntervalMillis() {
    long generation = properties.llm().maxGenerationTime().toMillis();
    return Math.min(Integer.MAX_VALUE, Math.max(300_000L, generation + 60_000L));
  }

  @Bean
  PromptRenderer promptRenderer(LlmProperties properties) {
    return new PromptRenderer(properties.llm().template().toDomain());
  }
}

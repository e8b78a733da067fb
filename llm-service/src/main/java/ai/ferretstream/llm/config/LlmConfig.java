package ai.ferretstream.llm.config;

import ai.ferretstream.llm.domain.PromptRenderer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The domain objects. */
@Configuration(proxyBeanMethods = false)
public class LlmConfig {

  @Bean
  PromptRenderer promptRenderer(LlmProperties properties) {
    return new PromptRenderer(properties.llm().template().toDomain());
  }
}

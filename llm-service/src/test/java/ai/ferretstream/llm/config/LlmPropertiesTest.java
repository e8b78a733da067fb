package ai.ferretstream.llm.config;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.llm.domain.PromptTemplate;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class LlmPropertiesTest {

  private static LlmProperties bind(Map<String, String> values) {
    return new Binder(new MapConfigurationPropertySource(values))
        .bindOrCreate("ferret", LlmProperties.class);
  }

  @Test
  void defaultTemplateIsFerretV1() {
    LlmProperties properties = bind(Map.of());
    assertThat(properties.llm().template().toDomain()).isEqualTo(PromptTemplate.ferretV1());
    assertThat(properties.llm().coalesceTokens()).isEqualTo(4);
    assertThat(properties.llm().concurrency()).isEqualTo(1);
    assertThat(properties.llm().maxGenerations()).isEqualTo(64);
    assertThat(properties.llm().maxGenerationTime()).isEqualTo(Duration.ofMinutes(5));
    assertThat(properties.llm().model()).isEqualTo("ferret_llm");
    assertThat(properties.llm().maxContextTokens()).isEqualTo(8192);
  }

  @Test
  void theContextLengthIsConfigurable() {
    LlmProperties properties = bind(Map.of("ferret.llm.max-context-tokens", "4096"));
    assertThat(properties.llm().maxContextTokens()).isEqualTo(4096);
  }

  @Test
  void templatePiecesAndStreamingAreConfigurable() {
    LlmProperties properties =
        bind(
            Map.of(
                "ferret.llm.template.user-role", "Human",
                "ferret.llm.template.grounding-suffix", " Give boxes.",
                "ferret.llm.coalesce-tokens", "8"));
    assertThat(properties.llm().template().userRole()).isEqualTo("Human");
    assertThat(properties.llm().template().groundingSuffix()).isEqualTo(" Give boxes.");
    assertThat(properties.llm().template().system()).isEqualTo(PromptTemplate.FERRET_V1_SYSTEM);
    assertThat(properties.llm().coalesceTokens()).isEqualTo(8);
  }
}

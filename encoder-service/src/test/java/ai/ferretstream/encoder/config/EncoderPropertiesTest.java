package ai.ferretstream.encoder.config;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.encoder.domain.EncoderRole;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class EncoderPropertiesTest {

  private static EncoderProperties bind(Map<String, String> settings) {
    return new Binder(new MapConfigurationPropertySource(settings))
        .bindOrCreate("ferret", EncoderProperties.class);
  }

  @Test
  void defaultsToTheGlobalRoleWithClip() {
    EncoderProperties properties = bind(Map.of());

    assertThat(properties.encoder().role()).isEqualTo(EncoderRole.GLOBAL);
    assertThat(properties.encoder().modelName()).isEqualTo("clip_vision");
    assertThat(properties.encoder().groupId()).isEqualTo("encoder-global");
    assertThat(properties.encoder().maxBatchSize()).isEqualTo(16);
  }

  @Test
  void theLocalRoleUsesDinov2AndItsOwnConsumerGroup() {
    EncoderProperties properties = bind(Map.of("ferret.encoder.role", "local"));

    assertThat(properties.encoder().role()).isEqualTo(EncoderRole.LOCAL);
    assertThat(properties.encoder().modelName()).isEqualTo("dinov2_vision");
    assertThat(properties.encoder().groupId()).isEqualTo("encoder-local");
  }

  @Test
  void aConfiguredModelNameWinsOverTheRoleDefault() {
    EncoderProperties properties =
        bind(Map.of("ferret.encoder.role", "local", "ferret.encoder.model", "dinov2_trt"));

    assertThat(properties.encoder().modelName()).isEqualTo("dinov2_trt");
  }
}

package ai.ferretstream.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import jakarta.validation.ValidatorFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.util.unit.DataSize;

class GatewayPropertiesTest {

  private final ValidatorFactory factory = Validation.buildDefaultValidatorFactory();
  private final Validator validator = factory.getValidator();

  @AfterEach
  void close() {
    factory.close();
  }

  private static GatewayProperties bind(Map<String, String> values) {
    return new Binder(new MapConfigurationPropertySource(values))
        .bindOrCreate("ferret.gateway", GatewayProperties.class);
  }

  @Test
  void defaultsMatchTheDocumentedSettings() {
    GatewayProperties properties = bind(Map.of());

    assertThat(properties.modelName()).isEqualTo("ferret-v2-dev");
    assertThat(properties.requestTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(properties.deadlineGrace()).isEqualTo(Duration.ofSeconds(2));
    assertThat(properties.maxInFlight()).isEqualTo(256);
    assertThat(properties.defaultMaxTokens()).isEqualTo(256);
    assertThat(properties.answers().groupId()).isEqualTo("ferret-gateway");
    assertThat(properties.limits().maxImageBytes()).isEqualTo(DataSize.ofMegabytes(15));
    assertThat(properties.limits().maxBodySize()).isEqualTo(DataSize.ofMegabytes(24));
    assertThat(properties.bodyReadTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(validator.validate(properties)).isEmpty();
  }

  @Test
  void refusesABodyReadTimeoutThatIsNotPositive() {
    GatewayProperties properties = bind(Map.of("ferret.gateway.body-read-timeout", "0s"));

    assertThat(validator.validate(properties))
        .extracting(ConstraintViolation::getMessage)
        .containsExactly("body-read-timeout must be positive");
  }

  @Test
  void refusesAnImageLimitThatCannotFitInAKafkaRecord() {
    GatewayProperties properties = bind(Map.of("ferret.gateway.limits.max-image-bytes", "20MB"));

    Set<ConstraintViolation<GatewayProperties>> violations = validator.validate(properties);

    assertThat(violations)
        .extracting(ConstraintViolation::getMessage)
        .containsExactly("max-image-bytes must be below the Kafka record limit of 16 MiB");
  }

  @Test
  void refusesNonPositiveLimits() {
    GatewayProperties properties = bind(Map.of("ferret.gateway.max-in-flight", "0"));

    assertThat(validator.validate(properties)).isNotEmpty();
  }
}

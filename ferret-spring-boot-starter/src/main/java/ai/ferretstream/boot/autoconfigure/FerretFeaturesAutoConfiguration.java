package ai.ferretstream.boot.autoconfigure;

import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.features.SharedFeatureStoreProperties;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The host-local shared-memory feature store (ADR 0011), when {@code
 * ferret.features.shared-memory.enabled}: the encoders write their maps there, fusion and the llm
 * read them. Services without it publish and read the maps through Kafka.
 */
@AutoConfiguration(after = FerretKafkaAutoConfiguration.class)
@EnableConfigurationProperties(SharedFeatureStoreProperties.class)
public class FerretFeaturesAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(
      prefix = "ferret.features.shared-memory",
      name = "enabled",
      havingValue = "true")
  SharedFeatureStore sharedFeatureStore(
      SharedFeatureStoreProperties properties,
      ObjectProvider<Clock> clock,
      ObjectProvider<MeterRegistry> meters) {
    return new SharedFeatureStore(
        properties.path(),
        properties.maxBytes().toBytes(),
        properties.ttl(),
        clock.getIfAvailable(Clock::systemUTC),
        meters.getIfAvailable(SimpleMeterRegistry::new));
  }
}

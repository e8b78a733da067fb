package ai.ferretstream.boot.autoconfigure;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.FeatureCacheProperties;
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
 * read them. Services without it publish and read the maps through Kafka. With {@code
 * ferret.feature-cache.enabled} too, the feature cache of ADR 0018 in the same directory.
 */
@AutoConfiguration(after = FerretKafkaAutoConfiguration.class)
@EnableConfigurationProperties({SharedFeatureStoreProperties.class, FeatureCacheProperties.class})
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

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "ferret.feature-cache", name = "enabled", havingValue = "true")
  FeatureCache featureCache(
      FeatureCacheProperties properties,
      ObjectProvider<SharedFeatureStore> store,
      ObjectProvider<Clock> clock,
      ObjectProvider<MeterRegistry> meters) {
    SharedFeatureStore shared = store.getIfAvailable();
    if (shared == null) {
      throw new IllegalStateException(
          "ferret.feature-cache.enabled needs the shared-memory feature store"
              + " (ferret.features.shared-memory.enabled=true): the cache keeps its maps there");
    }
    return new FeatureCache(
        shared,
        properties.maxBytes().toBytes(),
        properties.ttl(),
        properties.pinnedFor(),
        clock.getIfAvailable(Clock::systemUTC),
        meters.getIfAvailable(SimpleMeterRegistry::new));
  }
}

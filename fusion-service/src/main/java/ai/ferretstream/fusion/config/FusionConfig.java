package ai.ferretstream.fusion.config;

import ai.ferretstream.boot.features.FeatureReader;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.fusion.domain.FeatureStore;
import ai.ferretstream.fusion.domain.Fusion;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.fusion.messaging.FeatureReaderStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.ConsumerFactory;

/** The domain objects: the join book with its offset tracker, and the fusion step. */
@Configuration(proxyBeanMethods = false)
class FusionConfig {

  @Bean
  OffsetTracker offsetTracker() {
    return new OffsetTracker();
  }

  @Bean
  OffsetCommitter offsetCommitter(OffsetTracker offsetTracker, FerretKafkaProperties kafka) {
    return new OffsetCommitter(offsetTracker, kafka.commitInterval());
  }

  @Bean
  JoinBook joinBook(FusionProperties properties, OffsetTracker offsetTracker) {
    FusionProperties.Fusion fusion = properties.fusion();
    return new JoinBook(
        fusion.maxOpenJoins(),
        fusion.joinTimeout().toMillis(),
        fusion.finishedMemory(),
        fusion.finishedTtl().toMillis(),
        offsetTracker);
  }

  /**
   * The requests cancelled on {@code ferret.control}: their pending joins are dropped, their later
   * feature notices passed over.
   */
  @Bean
  CancelledRequests cancelledRequests() {
    return CancelledRequests.remembering();
  }

  @Bean
  Gauge openJoinsGauge(JoinBook joinBook, MeterRegistry registry) {
    return Gauge.builder("ferret.fusion.open.joins", joinBook, JoinBook::openJoins)
        .description("requests whose features are being joined")
        .register(registry);
  }

  /**
   * Reads back the maps that notices name, for regions and tokens by value: one reader per listener
   * thread (each fuses one request at a time).
   */
  @Bean(destroyMethod = "close")
  RecordFetcher featureFetcher(
      ConsumerFactory<String, Object> consumerFactory,
      FusionProperties properties,
      ServiceName service) {
    FusionProperties.Fusion fusion = properties.fusion();
    // one batch per read request: the maps of a request lie among other requests' records
    return RecordFetcher.forFeatures(
        consumerFactory.getConfigurationProperties(),
        service.value(),
        fusion.concurrency(),
        fusion.featureReadTimeout(),
        1);
  }

  @Bean
  FeatureStore featureStore(
      RecordFetcher featureFetcher,
      ObjectProvider<SharedFeatureStore> sharedFeatureStore,
      MeterRegistry meters) {
    return new FeatureReaderStore(
        new FeatureReader(featureFetcher, sharedFeatureStore.getIfAvailable()),
        Timer.builder("ferret.fusion.maps.read")
            .description("Reading back the feature maps a request's notices name")
            .publishPercentiles(0.5, 0.99)
            .register(meters));
  }

  @Bean
  Fusion fusion(
      FusionProperties properties,
      RegionSampler regionSampler,
      Clock clock,
      FeatureStore featureStore) {
    FusionProperties.Fusion fusion = properties.fusion();
    return new Fusion(
        fusion.upsampleMode(),
        regionSampler,
        clock,
        fusion.imageTokens() == FusionProperties.TokenTransport.BY_REFERENCE,
        featureStore);
  }
}

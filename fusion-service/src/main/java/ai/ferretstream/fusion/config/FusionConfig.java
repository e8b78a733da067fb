package ai.ferretstream.fusion.config;

import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.fusion.domain.Fusion;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.fusion.domain.RegionSampler;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

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

  @Bean
  Gauge openJoinsGauge(JoinBook joinBook, MeterRegistry registry) {
    return Gauge.builder("ferret.fusion.open.joins", joinBook, JoinBook::openJoins)
        .description("requests whose features are being joined")
        .register(registry);
  }

  @Bean
  Fusion fusion(FusionProperties properties, RegionSampler regionSampler, Clock clock) {
    FusionProperties.Fusion fusion = properties.fusion();
    return new Fusion(
        fusion.upsampleMode(),
        regionSampler,
        clock,
        fusion.imageTokens() == FusionProperties.TokenTransport.BY_REFERENCE);
  }
}

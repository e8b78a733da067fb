package ai.ferretstream.encoder.config;

import ai.ferretstream.encoder.inference.ModelSpec;
import ai.ferretstream.encoder.inference.ModelStartupCheck;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.encoder.inference.TritonHealthIndicator;
import ai.ferretstream.encoder.messaging.EncodingPipeline;
import ai.ferretstream.encoder.messaging.TileEncoder;
import ai.ferretstream.encoder.messaging.TileIntake;
import ai.ferretstream.proto.kafka.OffsetTracker;
import ai.ferretstream.proto.kafka.RecentIds;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.kafka.spring.FerretKafka;
import ai.ferretstream.proto.kafka.spring.OffsetCommitter;
import ai.ferretstream.proto.triton.TritonChannels;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.KafkaTemplate;

/** The Triton channel and adapter, the start-up model check, health, and the tile listener. */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  /** Deadline of the readiness probe's ModelReady call. */
  private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

  /** One channel per target: retries UNAVAILABLE, keepalive, explicit message size limit. */
  @Bean(destroyMethod = "shutdownNow")
  ManagedChannel tritonChannel(EncoderProperties properties) {
    EncoderProperties.Inference inference = properties.inference();
    return TritonChannels.create(
        inference.target(),
        Math.toIntExact(inference.maxMessageSize().toBytes()),
        inference.keepAlive(),
        inference.maxAttempts(),
        inference.balancing());
  }

  @Bean
  TritonClient tritonClient(ManagedChannel tritonChannel, EncoderProperties properties) {
    EncoderProperties.Encoder encoder = properties.encoder();
    return new TritonClient(
        tritonChannel,
        new ModelSpec(
            encoder.modelName(),
            encoder.modelVersion(),
            encoder.inputName(),
            encoder.outputName(),
            encoder.tileSize(),
            encoder.patchGrid()),
        properties.inference().callTimeout());
  }

  @Bean
  ModelStartupCheck modelStartupCheck(TritonClient tritonClient, EncoderProperties properties) {
    return new ModelStartupCheck(
        tritonClient, properties.inference().target(), properties.encoder().startupTimeout());
  }

  /** Health contributor {@code triton}; part of the readiness group (encoder-service.yml). */
  @Bean
  TritonHealthIndicator tritonHealthIndicator(
      TritonClient tritonClient, EncoderProperties properties) {
    return new TritonHealthIndicator(tritonClient, properties.inference().target(), HEALTH_TIMEOUT);
  }

  @Bean
  TileEncoder tileEncoder(
      TritonClient tritonClient,
      KafkaTemplate<String, Object> kafkaTemplate,
      TopicCatalog catalog,
      EncoderProperties properties,
      MeterRegistry meterRegistry,
      RecentIds cancelledRequests) {
    EncoderProperties.Encoder encoder = properties.encoder();
    return new TileEncoder(
        tritonClient,
        encoder.role(),
        kafkaTemplate,
        catalog,
        encoder.sendTimeout(),
        EncoderKafkaConfig.SERVICE,
        Clock.systemUTC(),
        meterRegistry,
        FerretKafka.recoverer(kafkaTemplate, catalog, EncoderKafkaConfig.SERVICE),
        encoder.retries(),
        encoder.retryBackoff(),
        cancelledRequests::contains);
  }

  /** Cancelled request ids, kept ten minutes (longer than any request's deadline). */
  @Bean
  RecentIds cancelledRequests() {
    return new RecentIds(100_000, Duration.ofMinutes(10), System::currentTimeMillis);
  }

  @Bean
  OffsetTracker offsetTracker() {
    return new OffsetTracker();
  }

  @Bean
  EncodingPipeline encodingPipeline(
      TileEncoder tileEncoder,
      OffsetTracker offsetTracker,
      EncoderProperties properties,
      MeterRegistry meterRegistry) {
    EncoderProperties.Encoder encoder = properties.encoder();
    return new EncodingPipeline(
        tileEncoder,
        offsetTracker,
        encoder.maxBatchSize(),
        encoder.maxQueueDelay(),
        encoder.maxInflightBatches(),
        encoder.queueCapacityOrDefault(),
        encoder.retryBackoff().multipliedBy(10),
        properties.inference().callTimeout().plus(encoder.sendTimeout()),
        meterRegistry);
  }

  @Bean
  TileIntake tileIntake(
      TileEncoder tileEncoder, EncodingPipeline encodingPipeline, OffsetTracker offsetTracker) {
    return new TileIntake(
        tileEncoder, encodingPipeline, offsetTracker, new OffsetCommitter(offsetTracker));
  }
}

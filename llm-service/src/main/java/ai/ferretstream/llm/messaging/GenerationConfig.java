package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.features.FeatureReader;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.boot.kafka.RecordWorkers;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.boot.kafka.TrackedPartitions;
import ai.ferretstream.llm.config.LlmProperties;
import ai.ferretstream.proto.v1.FusedContext;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;

/**
 * How fused contexts become generations: the listener hands each to the generation workers (at most
 * {@code max-generations} at once, the consumer paused while they are all busy); offsets are held
 * until the answer is on the broker; image tokens sent by reference are read back with a pool of
 * group-less consumers.
 */
@Configuration(proxyBeanMethods = false)
class GenerationConfig {

  private static final Logger log = LoggerFactory.getLogger(GenerationConfig.class);

  /** Idle time after which offsets freed by finished generations are committed. */
  private static final java.time.Duration IDLE_COMMIT_INTERVAL = java.time.Duration.ofSeconds(1);

  @Bean
  OffsetTracker fusedOffsets() {
    return new OffsetTracker();
  }

  @Bean
  OffsetCommitter fusedCommitter(OffsetTracker fusedOffsets, FerretKafkaProperties kafka) {
    return new OffsetCommitter(fusedOffsets, kafka.commitInterval());
  }

  @Bean(destroyMethod = "close")
  RecordFetcher featureFetcher(
      ConsumerFactory<String, Object> consumerFactory,
      LlmProperties properties,
      ServiceName service) {
    LlmProperties.Llm llm = properties.llm();
    return RecordFetcher.forFeatures(
        consumerFactory.getConfigurationProperties(),
        service.value(),
        llm.featureReaders(),
        llm.featureReadTimeout(),
        (int) llm.featureReadFetchSize().toBytes());
  }

  @Bean
  ImageTokenSource imageTokenSource(
      RecordFetcher featureFetcher,
      ObjectProvider<SharedFeatureStore> sharedFeatureStore,
      MeterRegistry meters) {
    return new ImageTokenSource(
        new FeatureReader(featureFetcher, sharedFeatureStore.getIfAvailable()),
        Timer.builder("ferret.llm.tokens.read")
            .description("Reading back and laying out the image tokens a fused context names")
            .publishPercentiles(0.5, 0.99)
            .register(meters));
  }

  @Bean
  RecordWorkers<FusedContext> generationWorkers(
      Answerer answerer,
      OffsetTracker fusedOffsets,
      ConsumerRecordRecoverer ferretRecoverer,
      FerretKafkaProperties kafka,
      LlmProperties properties,
      MeterRegistry meters) {
    LlmProperties.Llm llm = properties.llm();
    return new RecordWorkers<>(
        "llm-generation",
        (record, received) -> answerer.answer(record.value(), received),
        fusedOffsets,
        ferretRecoverer,
        llm.maxGenerations(),
        kafka.retries(),
        kafka.retryBackoff(),
        llm.drainTimeout(),
        meters);
  }

  @Bean
  FusedListener fusedListener(
      RecordWorkers<FusedContext> generationWorkers,
      OffsetTracker fusedOffsets,
      OffsetCommitter fusedCommitter,
      Clock clock,
      MeterRegistry meters) {
    return new FusedListener(generationWorkers, fusedOffsets, fusedCommitter, clock, meters);
  }

  /** On revocation, the partitions' running generations may finish before the commit. */
  @Bean
  TrackedPartitions fusedPartitions(
      OffsetTracker fusedOffsets,
      OffsetCommitter fusedCommitter,
      RecordWorkers<FusedContext> generationWorkers,
      LlmProperties properties) {
    return new TrackedPartitions(fusedOffsets, fusedCommitter) {
      @Override
      protected void beforeRevokeCommit(List<SourcePartition> partitions) {
        try {
          if (!generationWorkers.awaitFinished(partitions, properties.llm().drainTimeout())) {
            log.warn(
                "generations of revoked partitions {} still run after {}; their next owner"
                    + " answers them again",
                partitions,
                properties.llm().drainTimeout());
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }

      @Override
      protected void drop(List<SourcePartition> partitions) {
        // running generations go on: their clients are waiting and nothing else answers them
      }
    };
  }

  /** The {@code containerPostProcessor} of the fused-context listener. */
  @Bean
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      fusedContainerSetup(
          ConsumerRecordRecoverer ferretRecoverer,
          FerretKafkaProperties kafka,
          TrackedPartitions fusedPartitions,
          RecordWorkers<FusedContext> generationWorkers) {
    return container -> {
      // the listener commits, never past a generation in flight
      FerretKafka.committingItself(
          container, ferretRecoverer, kafka, fusedPartitions, IDLE_COMMIT_INTERVAL);
      generationWorkers.attach(container::pause, container::resume);
    };
  }
}

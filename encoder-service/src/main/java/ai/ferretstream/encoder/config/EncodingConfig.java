package ai.ferretstream.encoder.config;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.encoder.messaging.EncodingPipeline;
import ai.ferretstream.encoder.messaging.TileEncoder;
import ai.ferretstream.encoder.messaging.TileIntake;
import ai.ferretstream.encoder.messaging.TilePartitions;
import ai.ferretstream.proto.kafka.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.ContainerProperties.AckMode;

/**
 * The encoding pipeline and its listeners: the batching tile intake of the role's tile topic and
 * the starter's cancellation listener ({@link CancelledRequests}). The Kafka clients, error policy
 * and topics are the starter's.
 */
@Configuration(proxyBeanMethods = false)
class EncodingConfig {

  /** How soon finished tiles are committed while no records arrive (or the consumer is paused). */
  static final Duration IDLE_COMMIT_INTERVAL = Duration.ofMillis(500);

  @Bean
  EncoderInput encoderInput(TopicCatalog catalog, EncoderProperties properties) {
    EncoderRole role = properties.encoder().role();
    String topic = role == EncoderRole.GLOBAL ? catalog.tilesGlobal() : catalog.tilesLocal();
    return new EncoderInput(topic, properties.encoder().groupId());
  }

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(EncoderInput input, TopicCatalog catalog) {
    return TopicUsage.of(
        input.topic(),
        TopicCatalog.deadLetterOf(input.topic()),
        catalog.features(),
        catalog.featureNotices(),
        catalog.answers());
  }

  @Bean
  TileEncoder tileEncoder(
      TritonClient tritonClient,
      KafkaTemplate<String, Object> kafkaTemplate,
      TopicCatalog catalog,
      EncoderProperties properties,
      FerretKafkaProperties kafka,
      ServiceName service,
      Clock clock,
      MeterRegistry meterRegistry,
      ConsumerRecordRecoverer ferretRecoverer,
      CancelledRequests cancelledRequests,
      ExecutorService noticeSender,
      ObjectProvider<SharedFeatureStore> sharedFeatureStore,
      ObjectProvider<FeatureCache> featureCache) {
    return new TileEncoder(
        tritonClient,
        properties.encoder().role(),
        kafkaTemplate,
        catalog,
        kafka.sendTimeout(),
        service.value(),
        clock,
        meterRegistry,
        ferretRecoverer,
        kafka.retries(),
        kafka.retryBackoff(),
        cancelledRequests::contains,
        noticeSender,
        sharedFeatureStore.getIfAvailable(),
        featureCache.getIfAvailable());
  }

  /**
   * Queues the feature notices once their records are acknowledged: one thread, off the producer's
   * own thread (queuing a send only waits when the producer's buffer is full).
   */
  @Bean(destroyMethod = "shutdown")
  ExecutorService noticeSender(EncoderProperties properties) {
    String name = "encoder-" + properties.encoder().role().id() + "-notices";
    return Executors.newSingleThreadExecutor(
        r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * The requests cancelled on {@code ferret.control} (ids kept ten minutes, longer than any
   * request's deadline): their tiles are dropped when they come, and at once from the queue.
   */
  @Bean
  CancelledRequests cancelledRequests() {
    return CancelledRequests.remembering();
  }

  @Bean
  OffsetTracker offsetTracker() {
    return new OffsetTracker();
  }

  @Bean
  OffsetCommitter offsetCommitter(OffsetTracker offsetTracker, FerretKafkaProperties kafka) {
    return new OffsetCommitter(offsetTracker, kafka.commitInterval());
  }

  @Bean
  EncodingPipeline encodingPipeline(
      TileEncoder tileEncoder,
      OffsetTracker offsetTracker,
      EncoderProperties properties,
      FerretKafkaProperties kafka,
      InferenceProperties inference,
      MeterRegistry meterRegistry,
      CancelledRequests cancelledRequests) {
    EncoderProperties.Encoder encoder = properties.encoder();
    EncodingPipeline pipeline =
        new EncodingPipeline(
            tileEncoder,
            offsetTracker,
            encoder.maxBatchSize(),
            encoder.maxQueueDelay(),
            encoder.maxInflightBatches(),
            encoder.sendWindow(),
            encoder.queueCapacityOrDefault(),
            kafka.retryBackoff().multipliedBy(10),
            inference.callTimeout().plus(kafka.sendTimeout()),
            meterRegistry);
    // the tiles of a cancelled request still waiting for a batch are settled without encoding
    cancelledRequests.onCancel(pipeline::cancel);
    return pipeline;
  }

  @Bean
  TileIntake tileIntake(
      TileEncoder tileEncoder,
      EncodingPipeline encodingPipeline,
      OffsetTracker offsetTracker,
      OffsetCommitter offsetCommitter) {
    return new TileIntake(tileEncoder, encodingPipeline, offsetTracker, offsetCommitter);
  }

  @Bean
  TilePartitions tilePartitions(
      EncodingPipeline encodingPipeline,
      OffsetTracker offsetTracker,
      OffsetCommitter offsetCommitter) {
    return new TilePartitions(encodingPipeline, offsetTracker, offsetCommitter);
  }

  /**
   * The tiles container: the intake commits itself on the consumer thread (MANUAL, nothing is
   * acked), idle events let it commit while paused, {@link TilePartitions} handles revocations, and
   * the batching pipeline pauses and resumes the consumer.
   */
  @Bean(TileIntake.CONTAINER_SETUP)
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      tileContainerSetup(EncodingPipeline encodingPipeline, TilePartitions tilePartitions) {
    return container -> {
      ContainerProperties properties = container.getContainerProperties();
      properties.setAckMode(AckMode.MANUAL);
      properties.setIdleEventInterval(IDLE_COMMIT_INTERVAL.toMillis());
      properties.setConsumerRebalanceListener(tilePartitions);
      encodingPipeline.attach(container::pause, container::resume);
    };
  }
}

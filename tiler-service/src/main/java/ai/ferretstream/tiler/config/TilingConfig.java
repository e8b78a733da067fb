package ai.ferretstream.tiler.config;

import ai.ferretstream.boot.features.FeatureCache;
import ai.ferretstream.boot.features.FeatureCacheProperties;
import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.boot.kafka.AcknowledgedSends;
import ai.ferretstream.boot.kafka.AnswerPartitions;
import ai.ferretstream.boot.kafka.CancelledRequests;
import ai.ferretstream.boot.kafka.DurablePublisher;
import ai.ferretstream.boot.kafka.FerretKafka;
import ai.ferretstream.boot.kafka.FerretKafkaProperties;
import ai.ferretstream.boot.kafka.OffsetCommitter;
import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.boot.kafka.TopicUsage;
import ai.ferretstream.boot.kafka.TrackedPartitions;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import ai.ferretstream.tiler.messaging.AskRequestListener;
import ai.ferretstream.tiler.messaging.FeatureCacheKeys;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ContainerPostProcessor;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;

/**
 * The tiling domain objects and the request listener, built from {@link TilerProperties}; the Kafka
 * wiring is the starter's.
 */
@Configuration(proxyBeanMethods = false)
class TilingConfig {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TilingConfig.class);

  @Bean
  ImageDecoder imageDecoder(TilerProperties properties) {
    return new ImageDecoder(
        properties.tiler().maxImageSize().toBytes(), properties.tiler().maxPixels());
  }

  /** Threads for one large image while the tiler is otherwise idle; shut down with the context. */
  @Bean(destroyMethod = "close")
  Parallelism tilerParallelism(TilerProperties properties) {
    int threads = properties.tiler().parallelism();
    return Parallelism.of(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
  }

  @Bean
  ImageTiler imageTiler(TilerProperties properties, Parallelism parallelism) {
    BicubicResampler resampler = BicubicResampler.create(properties.tiler().simd(), parallelism);
    log.info(
        "tiling with {} resampling kernels on up to {} threads per image",
        resampler.kernels(),
        parallelism.threads());
    return new ImageTiler(
        GridSelector.of(properties.tiler().grids(), properties.tiler().tileSize()),
        ResizeMode.parse(properties.tiler().mode()),
        resampler);
  }

  /** The topics checked at start-up for our record size. */
  @Bean
  TopicUsage topicUsage(TopicCatalog catalog) {
    return TopicUsage.of(
        catalog.requests(),
        catalog.deadLetter(Topic.REQUESTS),
        catalog.tilesGlobal(),
        catalog.tilesLocal(),
        catalog.featureNotices(),
        catalog.answers());
  }

  /**
   * Checks each request's reply address against the answers topic and its partitions (read with the
   * admin client, again at most every {@code ferret.tiler.reply-partitions-refresh}).
   */
  @Bean
  AnswerPartitions answerPartitions(
      KafkaAdmin admin, TopicCatalog catalog, TilerProperties properties) {
    return AnswerPartitions.of(admin, catalog, properties.tiler().replyPartitionsRefresh());
  }

  /** The requests cancelled on {@code ferret.control}: not tiled when they come. */
  @Bean
  CancelledRequests cancelledRequests() {
    return CancelledRequests.remembering();
  }

  @Bean
  OffsetTracker requestOffsets() {
    return new OffsetTracker();
  }

  @Bean
  OffsetCommitter requestCommitter(OffsetTracker requestOffsets, FerretKafkaProperties kafka) {
    return new OffsetCommitter(requestOffsets, kafka.commitInterval());
  }

  /**
   * Tile sends in flight without blocking the consumer, {@code ferret.tiler.send-window} requests.
   */
  @Bean
  AcknowledgedSends tileSends(
      DurablePublisher publisher,
      OffsetTracker requestOffsets,
      TilerProperties properties,
      FerretKafkaProperties kafka) {
    return new AcknowledgedSends(
        publisher, requestOffsets, properties.tiler().sendWindow(), kafka.sendTimeout());
  }

  @Bean
  AskRequestListener askRequestListener(
      TilerProperties properties,
      ImageDecoder decoder,
      ImageTiler tiler,
      DurablePublisher publisher,
      AcknowledgedSends tileSends,
      OffsetTracker requestOffsets,
      OffsetCommitter requestCommitter,
      TopicCatalog catalog,
      ServiceName service,
      Clock clock,
      MeterRegistry meterRegistry,
      ObjectProvider<SharedFeatureStore> sharedStore,
      AnswerPartitions answerPartitions,
      CancelledRequests cancelledRequests,
      ObjectProvider<FeatureCache> featureCache,
      FeatureCacheProperties cacheProperties) {
    FeatureCache cache = featureCache.getIfAvailable();
    FeatureCacheKeys keys = null;
    if (cache != null) {
      keys =
          new FeatureCacheKeys(
              properties.tiler().tileSize(),
              properties.tiler().grids(),
              properties.tiler().mode(),
              tiler.kernels(),
              cacheProperties.globalModel(),
              cacheProperties.localModel());
      log.info(
          "feature cache on: images asked about again skip tiling and encoding ({} / {})",
          cacheProperties.globalModel(),
          cacheProperties.localModel());
    }
    return new AskRequestListener(
        decoder,
        tiler,
        publisher,
        tileSends,
        requestOffsets,
        requestCommitter,
        catalog,
        service.value(),
        clock,
        meterRegistry,
        properties.tiler().sharedTiles() ? sharedStore.getIfAvailable() : null,
        answerPartitions,
        cancelledRequests,
        cache,
        keys);
  }

  /**
   * The requests listener's container: the listener commits (never past a request whose tiles are
   * not acknowledged); on revocation the sends in flight get the send timeout to finish first.
   */
  @Bean
  ContainerPostProcessor<String, Object, AbstractMessageListenerContainer<String, Object>>
      requestsContainerSetup(
          ConsumerRecordRecoverer ferretRecoverer,
          FerretKafkaProperties kafka,
          OffsetTracker requestOffsets,
          OffsetCommitter requestCommitter) {
    TrackedPartitions partitions =
        new TrackedPartitions(requestOffsets, requestCommitter) {
          @Override
          protected void beforeRevokeCommit(List<SourcePartition> revoked) {
            try {
              requestOffsets.awaitReleased(revoked, kafka.sendTimeout());
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }

          @Override
          protected void drop(List<SourcePartition> dropped) {
            // nothing is held but offsets
          }
        };
    return container ->
        FerretKafka.committingItself(
            container, ferretRecoverer, kafka, partitions, java.time.Duration.ofSeconds(1));
  }
}

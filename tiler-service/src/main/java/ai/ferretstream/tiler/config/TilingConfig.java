package ai.ferretstream.tiler.config;

import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import ai.ferretstream.tiler.messaging.AskRequestListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.KafkaTemplate;

/** The tiling domain objects and the request listener, built from {@link TilerProperties}. */
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

  @Bean
  AskRequestListener askRequestListener(
      ImageDecoder decoder,
      ImageTiler tiler,
      KafkaTemplate<String, Object> kafkaTemplate,
      TopicCatalog catalog,
      TilerProperties properties,
      MeterRegistry meterRegistry) {
    return new AskRequestListener(
        decoder,
        tiler,
        kafkaTemplate,
        catalog,
        properties.tiler().sendTimeout(),
        TilerKafkaConfig.SERVICE,
        Clock.systemUTC(),
        meterRegistry);
  }
}

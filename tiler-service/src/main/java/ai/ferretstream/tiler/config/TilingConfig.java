package ai.ferretstream.tiler.config;

import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.tiler.domain.Grid;
import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageDecoder;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.messaging.AskRequestListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.KafkaTemplate;

/** The tiling domain objects and the request listener, built from {@link TilerProperties}. */
@Configuration(proxyBeanMethods = false)
class TilingConfig {

  @Bean
  ImageDecoder imageDecoder(TilerProperties properties) {
    return new ImageDecoder(
        properties.tiler().maxImageSize().toBytes(), properties.tiler().maxPixels());
  }

  @Bean
  ImageTiler imageTiler(TilerProperties properties) {
    return new ImageTiler(
        new GridSelector(
            properties.tiler().grids().stream().map(Grid::parse).toList(),
            properties.tiler().tileSize()));
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

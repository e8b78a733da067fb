package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/** The request reader both APIs share, with the image fetcher when image URLs are fetched. */
@Configuration(proxyBeanMethods = false)
class WebConfiguration {

  @Bean
  ChatRequestReader chatRequestReader(
      JsonMapper json, GatewayProperties properties, ObjectProvider<ImageFetcher> imageFetcher) {
    return new ChatRequestReader(json, properties, imageFetcher.getIfAvailable());
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.DispatcherType;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import tools.jackson.databind.json.JsonMapper;

/**
 * The request reader both APIs share, with the image fetcher when image URLs are fetched, and the
 * non-blocking body reader in front of them.
 */
@Configuration(proxyBeanMethods = false)
class WebConfiguration {

  @Bean
  ChatRequestReader chatRequestReader(
      JsonMapper json, GatewayProperties properties, ObjectProvider<ImageFetcher> imageFetcher) {
    return new ChatRequestReader(json, properties, imageFetcher.getIfAvailable());
  }

  /**
   * Bodies of {@code /v1/*} read without holding a request thread, after the API key check ({@link
   * ApiKeyFilter} runs first), on the first dispatch and handed over on the second.
   */
  @Bean
  FilterRegistrationBean<RequestBodyFilter> requestBodyFilter(
      GatewayProperties properties, MeterRegistry meters, JsonMapper json) {
    FilterRegistrationBean<RequestBodyFilter> registration =
        new FilterRegistrationBean<>(
            new RequestBodyFilter(
                properties.limits().maxBodySize().toBytes(),
                properties.bodyReadTimeout(),
                new ClientAborts(meters),
                json));
    registration.addUrlPatterns("/v1/*");
    registration.setDispatcherTypes(DispatcherType.REQUEST, DispatcherType.ASYNC);
    registration.setAsyncSupported(true);
    registration.setOrder(Ordered.LOWEST_PRECEDENCE);
    return registration;
  }
}

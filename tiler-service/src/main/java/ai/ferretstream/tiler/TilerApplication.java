package ai.ferretstream.tiler;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The tiler service: decodes request images, picks the any-resolution grid and publishes the global
 * view and the local tiles.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class TilerApplication {

  /** The service's config file: {@code tiler-service.yml}. */
  public static final String CONFIG_NAME = "tiler-service";

  /** A builder reading {@code tiler-service.yml}; the launcher runs several services in one JVM. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(TilerApplication.class)
        .properties("spring.config.name=" + CONFIG_NAME);
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}

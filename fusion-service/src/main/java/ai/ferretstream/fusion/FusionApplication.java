package ai.ferretstream.fusion;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * fusion-service: joins each request's global and local features, merges and fuses them, asks the
 * region sampler for region embeddings and publishes the LLM's inputs on {@code ferret.fused}.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class FusionApplication {

  /** The service's configuration file name ({@code fusion-service.yml}). */
  public static final String CONFIG_NAME = "fusion-service";

  /** A builder for this service with {@code spring.config.name=fusion-service}. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(FusionApplication.class)
        .properties("spring.config.name=" + CONFIG_NAME);
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}

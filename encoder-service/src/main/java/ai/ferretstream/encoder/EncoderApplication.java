package ai.ferretstream.encoder;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The encoder service: batches tiles across requests into Triton {@code ModelInfer} calls and
 * publishes per-tile features. One codebase, two roles ({@code ferret.encoder.role}): {@code
 * global} (CLIP on the global view) and {@code local} (DINOv2 on the local tiles).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class EncoderApplication {

  /** The service's config file: {@code encoder-service.yml}. */
  public static final String CONFIG_NAME = "encoder-service";

  /** A builder reading {@code encoder-service.yml}; the launcher runs both roles in one JVM. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(EncoderApplication.class)
        .properties("spring.config.name=" + CONFIG_NAME);
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}

package ai.ferretstream.gateway;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The public edge of Ferret Stream: an OpenAI-compatible chat completions API that publishes
 * requests to Kafka and streams their answer events back to the client.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class GatewayApplication {

  /** A builder with {@code spring.config.name=gateway-service}, so several services share a JVM. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(GatewayApplication.class)
        .properties("spring.config.name=gateway-service");
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}

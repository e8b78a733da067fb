package ai.ferretstream.llm;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * llm-service: renders the Ferret prompt for each fused request, streams the answer from Triton's
 * decoupled {@code ferret_llm}, and publishes ordered answer events (text deltas, grounded boxes,
 * done) on {@code ferret.answers}.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class LlmApplication {

  /** The service's configuration file name ({@code llm-service.yml}). */
  public static final String CONFIG_NAME = "llm-service";

  /** A builder for this service with {@code spring.config.name=llm-service}. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(LlmApplication.class)
        .properties("spring.config.name=" + CONFIG_NAME);
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}

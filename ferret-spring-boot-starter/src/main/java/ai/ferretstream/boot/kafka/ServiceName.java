package ai.ferretstream.boot.kafka;

/**
 * The service's name ({@code spring.application.name}): written to dead-letter headers and error
 * events, and the default client id of its listeners.
 *
 * @param value the name, e.g. {@code tiler-service}
 */
public record ServiceName(String value) {

  public ServiceName {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("spring.application.name must name the service");
    }
  }

  @Override
  public String toString() {
    return value;
  }
}

package ai.ferretstream.boot.kafka;

import java.util.UUID;

/**
 * This running instance of a service: names the consumer groups that every instance needs for
 * itself, such as the one that reads {@code ferret.control} so that each instance sees every
 * cancellation.
 *
 * @param id {@code <service>-<random>}, new at every start
 */
public record ServiceInstance(String id) {

  /** A new instance id for {@code service}. */
  public static ServiceInstance of(ServiceName service) {
    return new ServiceInstance(service.value() + "-" + UUID.randomUUID());
  }

  /** The consumer group of this instance's {@code ferret.control} listener. */
  public String controlGroup() {
    return id + "-control";
  }
}

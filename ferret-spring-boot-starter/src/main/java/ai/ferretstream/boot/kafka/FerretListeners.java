package ai.ferretstream.boot.kafka;

/**
 * Names for {@code @KafkaListener} attributes that the auto-configuration backs with beans.
 *
 * <p>Every listener uses the shared {@code kafkaListenerContainerFactory}; what differs between
 * listeners is said on the annotation: {@code id}, {@code groupId}, {@code topics} (from the {@code
 * topicCatalog} bean), {@code concurrency}, {@code batch}, consumer {@code properties}, and a
 * {@code containerPostProcessor} for container settings such as a listener that commits itself.
 */
public final class FerretListeners {

  /**
   * A {@code containerPostProcessor} for listeners that every instance runs in a consumer group of
   * its own ({@link ServiceInstance#controlGroup()}) from the latest offset, e.g. cancellations:
   * nothing is committed, and a record that fails is given up on at once (dead letter), never
   * retried. {@link ControlTopicListener} puts it together for {@code ferret.control}.
   */
  public static final String BROADCAST = "ferretBroadcastListener";

  private FerretListeners() {}
}

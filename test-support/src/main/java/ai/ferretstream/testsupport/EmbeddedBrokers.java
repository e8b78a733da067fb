package ai.ferretstream.testsupport;

/** Settings of the embedded test brokers ({@code @EmbeddedKafka}). */
public final class EmbeddedBrokers {

  /**
   * A broker that takes our largest records (16 MiB, {@code KafkaLimits.MAX_RECORD_BYTES}):
   * {@code @EmbeddedKafka(brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS)}.
   */
  public static final String LARGE_RECORDS = "classpath:ferret-embedded-broker.properties";

  private EmbeddedBrokers() {}
}

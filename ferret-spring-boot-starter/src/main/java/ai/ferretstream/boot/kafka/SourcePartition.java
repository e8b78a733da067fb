package ai.ferretstream.boot.kafka;

/** A partition of a source topic, as the domain sees it (no Kafka types here). */
public record SourcePartition(String topic, int partition) {

  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}

package ai.ferretstream.proto.kafka;

/**
 * The record size limits the pipeline needs. A 2x3-grid request's fused message is about 8.3 MB and
 * a 6x1 one about 8.3 MB as well (7 maps of 576x1024 FP16), so every limit on the path (broker
 * {@code message.max.bytes} and {@code replica.fetch.max.bytes}, topic {@code max.message.bytes},
 * producer {@code max.request.size} and {@code buffer.memory}, consumer {@code
 * max.partition.fetch.bytes} and {@code fetch.max.bytes}) is set to at least this value.
 */
public final class KafkaLimits {

  /** 16 MiB: the largest record any stage produces, with room for history and regions. */
  public static final int MAX_RECORD_BYTES = 16 * 1024 * 1024;

  private KafkaLimits() {}
}

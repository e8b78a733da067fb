package ai.ferretstream.encoder.config;

/**
 * What the tiles listener reads (its {@code @KafkaListener} names this bean): the role's tile
 * topic, in the role's consumer group.
 *
 * @param topic {@code ferret.tiles.global} or {@code ferret.tiles.local}
 * @param groupId the consumer group (lag-based autoscaling watches it)
 */
public record EncoderInput(String topic, String groupId) {}

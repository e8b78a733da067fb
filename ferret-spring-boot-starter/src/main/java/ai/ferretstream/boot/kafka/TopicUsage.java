package ai.ferretstream.boot.kafka;

import java.util.List;

/**
 * The topics a service reads or writes: {@link TopicLimitsVerifier} checks at start-up that each
 * accepts our largest records. Without this bean every catalog topic is checked.
 *
 * @param topics resolved topic names
 */
public record TopicUsage(List<String> topics) {

  public TopicUsage {
    topics = List.copyOf(topics);
  }

  public static TopicUsage of(String... topics) {
    return new TopicUsage(List.of(topics));
  }
}

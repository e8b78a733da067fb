package ai.ferretstream.proto.kafka;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Resolves topic names: {@code <prefix><base name>}, e.g. {@code ferret.requests} with the empty
 * prefix or {@code prod.ferret.requests} with prefix {@code prod.}. Every service takes its topic
 * names from here; nothing else spells a topic name.
 */
public final class TopicCatalog {

  private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]*");

  private final String prefix;

  public TopicCatalog(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (!LEGAL.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "topic prefix '" + prefix + "' may only contain letters, digits, '.', '_' and '-'");
    }
    if (prefix.length() > 200) {
      throw new IllegalArgumentException("topic prefix is longer than 200 characters");
    }
    this.prefix = prefix;
  }

  /** The catalog with the default (empty) prefix. */
  public static TopicCatalog defaults() {
    return new TopicCatalog("");
  }

  public String prefix() {
    return prefix;
  }

  public String name(Topic topic) {
    return prefix + topic.baseName();
  }

  public String deadLetter(Topic topic) {
    return name(topic) + Topic.DLT_SUFFIX;
  }

  /** The dead-letter topic of any source topic name. */
  public static String deadLetterOf(String sourceTopic) {
    return sourceTopic + Topic.DLT_SUFFIX;
  }

  public String requests() {
    return name(Topic.REQUESTS);
  }

  public String tilesGlobal() {
    return name(Topic.TILES_GLOBAL);
  }

  public String tilesLocal() {
    return name(Topic.TILES_LOCAL);
  }

  public String features() {
    return name(Topic.FEATURES);
  }

  /** Small records naming each {@link #features()} record once the broker has it (ADR 0009). */
  public String featureNotices() {
    return name(Topic.FEATURE_NOTICES);
  }

  public String fused() {
    return name(Topic.FUSED);
  }

  public String answers() {
    return name(Topic.ANSWERS);
  }

  public String control() {
    return name(Topic.CONTROL);
  }

  /** Every pipeline topic and its dead-letter topic, in catalog order. */
  public List<String> allTopicNames() {
    return Arrays.stream(Topic.values())
        .flatMap(t -> java.util.stream.Stream.of(name(t), deadLetter(t)))
        .toList();
  }

  /** The catalog entry of a resolved topic name, if it is one of ours (dead-letter topics too). */
  public Optional<Topic> lookup(String topicName) {
    String base =
        topicName.endsWith(Topic.DLT_SUFFIX)
            ? topicName.substring(0, topicName.length() - Topic.DLT_SUFFIX.length())
            : topicName;
    return Arrays.stream(Topic.values()).filter(t -> name(t).equals(base)).findFirst();
  }
}

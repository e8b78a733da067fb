package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import java.io.PrintStream;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.springframework.util.unit.DataSize;

/**
 * Creates every pipeline topic and its dead-letter topic, or brings existing ones up to the
 * declared partition count, record size limit and retention. This is what docker compose's {@code
 * topics} service and the Helm chart's topic Job run (from the gateway image):
 *
 * <pre>java -cp /app/app.jar ai.ferretstream.boot.kafka.TopicProvisioner</pre>
 *
 * <p>It reads the same environment as the services, so one set of values configures both: {@code
 * SPRING_KAFKA_BOOTSTRAP_SERVERS}, {@code SPRING_KAFKA_SECURITY_PROTOCOL}, {@code
 * SPRING_KAFKA_PROPERTIES_*} (e.g. {@code SPRING_KAFKA_PROPERTIES_SASL_MECHANISM}), {@code
 * SPRING_KAFKA_SSL_TRUST_STORE_*} / {@code SPRING_KAFKA_SSL_KEY_STORE_*}, and {@code
 * FERRET_TOPICS_PREFIX}, {@code FERRET_TOPICS_PARTITIONS}, {@code FERRET_TOPICS_REPLICATION}, and
 * the retention ({@link Retention}): {@code FERRET_TOPICS_BULK_RETENTION}, {@code
 * FERRET_TOPICS_RETENTION}, {@code FERRET_TOPICS_DEAD_LETTER_RETENTION}, {@code
 * FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE} — the environment of {@code ferret.topics.*}, so the
 * services declare what this tool provisions. {@code FERRET_TOPICS_WAIT} (default 120s) is how long
 * to wait for the cluster to answer. Command-line flags override the environment.
 *
 * <p>Partitions are only ever added (Kafka cannot remove them); a topic with more partitions than
 * declared is left alone and reported. The record size limit is only ever raised. The retention
 * settings of an existing topic are set to the declared ones wherever they differ (Kafka's default
 * of 7 days on 1 GiB segments would keep every tile and feature map for a week). Exit status: 0
 * done, 1 failed, 2 bad configuration.
 */
public final class TopicProvisioner {

  /** Topic settings every pipeline topic needs: records of several MB. */
  public static final Map<String, String> TOPIC_CONFIGS =
      Map.of("max.message.bytes", Integer.toString(KafkaLimits.MAX_RECORD_BYTES));

  /**
   * The topics between the stages: every record is useless once its request's deadline has passed,
   * and together they hold almost all the bytes of a request (18.9 MB of a 3x2 request when tiles
   * and feature maps travel through Kafka, docs/bench/pipeline-979363f.md).
   */
  public static final Set<Topic> BULK =
      Collections.unmodifiableSet(
          EnumSet.of(
              Topic.TILES_GLOBAL,
              Topic.TILES_LOCAL,
              Topic.FEATURES,
              Topic.FEATURE_NOTICES,
              Topic.FUSED));

  /**
   * {@code segment.bytes} of every topic: twice the largest record, far below Kafka's 1 GiB, so
   * that segments close (retention only deletes closed segments) and an idle partition keeps at
   * most one small active segment beyond its retention.
   */
  public static final long SEGMENT_BYTES = 2L * KafkaLimits.MAX_RECORD_BYTES;

  /** A segment closes after this fraction of its topic's retention ({@code segment.ms}). */
  static final int SEGMENTS_PER_RETENTION = 5;

  static final Duration DEFAULT_WAIT = Duration.ofSeconds(120);

  private TopicProvisioner() {}

  /**
   * What to provision and how to reach the cluster.
   *
   * @param client Kafka admin client properties
   * @param catalog topic names
   * @param partitions partitions of every topic
   * @param replication replication factor of new topics
   * @param waitFor how long to wait for the cluster
   */
  record Plan(
      Map<String, Object> client,
      TopicCatalog catalog,
      int partitions,
      short replication,
      Duration waitFor,
      Retention retention) {}

  /**
   * How long topics keep their records. A record is deleted between {@code retention} and {@code
   * retention} + a fifth of it (its segment closes) + the broker's {@code
   * log.retention.check.interval.ms} + {@code file.delete.delay.ms} after it was written.
   *
   * @param bulk the {@link #BULK} topics: a few times the longest request deadline
   * @param messages requests, answers and control records
   * @param deadLetter dead-letter topics, by time
   * @param deadLetterBytes dead-letter topics, by size per partition ({@code retention.bytes})
   */
  public record Retention(
      Duration bulk, Duration messages, Duration deadLetter, long deadLetterBytes) {

    /** 5 minutes (5x the gateway's default deadline), 1 hour, 24 hours and 64 MiB. */
    public static final Retention DEFAULT =
        new Retention(Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofHours(24), 64L << 20);

    public Retention {
      positive("bulk retention", bulk);
      positive("retention", messages);
      positive("dead-letter retention", deadLetter);
      if (deadLetterBytes <= 0) {
        throw new IllegalArgumentException(
            "dead-letter retention size must be positive, got " + deadLetterBytes);
      }
    }

    private static void positive(String what, Duration value) {
      Objects.requireNonNull(value, what);
      if (value.toMillis() <= 0) {
        throw new IllegalArgumentException(what + " must be positive, got " + value);
      }
    }

    /** The retention and segment settings of one topic of the catalog. */
    Map<String, String> configs(Topic topic, boolean deadLetterTopic) {
      Duration keep = deadLetterTopic ? deadLetter : BULK.contains(topic) ? bulk : messages;
      Map<String, String> configs = new LinkedHashMap<>();
      configs.put("cleanup.policy", "delete");
      configs.put("retention.ms", Long.toString(keep.toMillis()));
      configs.put(
          "segment.ms", Long.toString(Math.max(1, keep.toMillis() / SEGMENTS_PER_RETENTION)));
      configs.put("segment.bytes", Long.toString(SEGMENT_BYTES));
      if (deadLetterTopic) {
        configs.put("retention.bytes", Long.toString(deadLetterBytes));
      }
      return configs;
    }
  }

  /** One line of the report per topic: what was done. */
  public record Outcome(String topic, String action) {
    @Override
    public String toString() {
      return topic + ": " + action;
    }
  }

  /**
   * The declaration of every catalog topic and dead-letter topic, sized for our records, with the
   * default {@link Retention}.
   */
  public static List<NewTopic> declarations(
      TopicCatalog catalog, int partitions, short replication) {
    return declarations(catalog, partitions, replication, Retention.DEFAULT);
  }

  /**
   * The declaration of every catalog topic and dead-letter topic: sized for our records, kept as
   * long as {@code retention} says.
   */
  public static List<NewTopic> declarations(
      TopicCatalog catalog, int partitions, short replication, Retention retention) {
    List<NewTopic> topics = new ArrayList<>();
    for (Topic topic : Topic.values()) {
      for (boolean deadLetter : new boolean[] {false, true}) {
        Map<String, String> configs = new LinkedHashMap<>(TOPIC_CONFIGS);
        configs.putAll(retention.configs(topic, deadLetter));
        String name = deadLetter ? catalog.deadLetter(topic) : catalog.name(topic);
        topics.add(new NewTopic(name, partitions, replication).configs(configs));
      }
    }
    return topics;
  }

  public static void main(String[] args) {
    Plan plan;
    try {
      plan = plan(System.getenv(), args);
    } catch (IllegalArgumentException e) {
      System.err.println("topic provisioner: " + e.getMessage());
      usage(System.err);
      System.exit(2);
      return;
    }
    if (plan == null) {
      usage(System.out);
      return;
    }
    try (Admin admin = Admin.create(plan.client())) {
      System.out.println(
          "topic provisioner: "
              + plan.catalog().allTopicNames().size()
              + " topics at "
              + plan.client().get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)
              + ", "
              + plan.partitions()
              + " partitions, replication "
              + plan.replication()
              + ", retention "
              + plan.retention().bulk()
              + " (tiles, features, fused) / "
              + plan.retention().messages()
              + " (requests, answers, control) / "
              + plan.retention().deadLetter()
              + " and "
              + plan.retention().deadLetterBytes()
              + " bytes per partition (dead letters)");
      awaitCluster(admin, plan.waitFor());
      for (Outcome outcome :
          provision(
              admin, plan.catalog(), plan.partitions(), plan.replication(), plan.retention())) {
        System.out.println("  " + outcome);
      }
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      System.err.println("topic provisioner failed: " + cause);
      System.exit(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      System.exit(1);
    }
  }

  /** {@link #provision(Admin, TopicCatalog, int, short, Retention)} with the default retention. */
  public static List<Outcome> provision(
      Admin admin, TopicCatalog catalog, int partitions, short replication)
      throws InterruptedException, ExecutionException, TimeoutException {
    return provision(admin, catalog, partitions, replication, Retention.DEFAULT);
  }

  /**
   * Creates the missing topics, adds partitions, raises {@code max.message.bytes} where an existing
   * topic falls short, and sets the retention settings of existing topics where they differ.
   */
  public static List<Outcome> provision(
      Admin admin, TopicCatalog catalog, int partitions, short replication, Retention retention)
      throws InterruptedException, ExecutionException, TimeoutException {
    List<NewTopic> declared = declarations(catalog, partitions, replication, retention);
    Map<String, NewTopic> byName = new HashMap<>();
    declared.forEach(t -> byName.put(t.name(), t));
    Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    Map<String, Outcome> outcomes = new LinkedHashMap<>();
    List<NewTopic> missing = declared.stream().filter(t -> !existing.contains(t.name())).toList();
    if (!missing.isEmpty()) {
      var created = admin.createTopics(missing).values();
      for (NewTopic topic : missing) {
        try {
          created.get(topic.name()).get(30, TimeUnit.SECONDS);
          outcomes.put(
              topic.name(),
              new Outcome(
                  topic.name(),
                  "created (" + partitions + " partitions, replication " + replication + ")"));
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
          // created by someone else in the meantime: checked below like any existing topic
        }
      }
    }
    List<String> toCheck =
        declared.stream().map(NewTopic::name).filter(n -> !outcomes.containsKey(n)).toList();
    if (!toCheck.isEmpty()) {
      Map<String, TopicDescription> descriptions =
          admin.describeTopics(toCheck).allTopicNames().get(30, TimeUnit.SECONDS);
      Map<String, NewPartitions> grow = new HashMap<>();
      List<ConfigResource> resources = new ArrayList<>();
      for (String name : toCheck) {
        int have = descriptions.get(name).partitions().size();
        if (have < partitions) {
          grow.put(name, NewPartitions.increaseTo(partitions));
        }
        resources.add(new ConfigResource(ConfigResource.Type.TOPIC, name));
      }
      if (!grow.isEmpty()) {
        admin.createPartitions(grow).all().get(30, TimeUnit.SECONDS);
      }
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(resources).all().get(30, TimeUnit.SECONDS);
      Map<ConfigResource, Collection<AlterConfigOp>> alter = new HashMap<>();
      Map<String, List<String>> configChanges = new HashMap<>();
      for (ConfigResource resource : resources) {
        Config current = configs.get(resource);
        List<AlterConfigOp> ops = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        ConfigEntry entry = current.get("max.message.bytes");
        if (entry == null
            || entry.value() == null
            || Long.parseLong(entry.value()) < KafkaLimits.MAX_RECORD_BYTES) {
          ops.add(
              new AlterConfigOp(
                  new ConfigEntry(
                      "max.message.bytes", Integer.toString(KafkaLimits.MAX_RECORD_BYTES)),
                  AlterConfigOp.OpType.SET));
          changed.add("max.message.bytes raised to " + KafkaLimits.MAX_RECORD_BYTES);
        }
        for (Map.Entry<String, String> want : byName.get(resource.name()).configs().entrySet()) {
          if (want.getKey().equals("max.message.bytes")) {
            continue;
          }
          ConfigEntry have = current.get(want.getKey());
          String value = have == null ? null : have.value();
          if (!want.getValue().equals(value)) {
            ops.add(
                new AlterConfigOp(
                    new ConfigEntry(want.getKey(), want.getValue()), AlterConfigOp.OpType.SET));
            changed.add(want.getKey() + " " + value + " -> " + want.getValue());
          }
        }
        if (!ops.isEmpty()) {
          alter.put(resource, ops);
          configChanges.put(resource.name(), changed);
        }
      }
      if (!alter.isEmpty()) {
        admin.incrementalAlterConfigs(alter).all().get(30, TimeUnit.SECONDS);
      }
      for (String name : toCheck) {
        int have = descriptions.get(name).partitions().size();
        List<String> changes = new ArrayList<>();
        if (grow.containsKey(name)) {
          changes.add("partitions " + have + " -> " + partitions);
        } else if (have > partitions) {
          changes.add("has " + have + " partitions, more than the " + partitions + " declared");
        }
        changes.addAll(configChanges.getOrDefault(name, List.of()));
        outcomes.put(
            name, new Outcome(name, changes.isEmpty() ? "up to date" : String.join(", ", changes)));
      }
    }
    return declared.stream().map(t -> outcomes.get(t.name())).toList();
  }

  /** Waits until the cluster answers a metadata request, retrying until {@code wait} is over. */
  static void awaitCluster(Admin admin, Duration wait)
      throws InterruptedException, ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      try {
        admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        if (System.nanoTime() >= deadline) {
          throw e;
        }
        System.out.println("topic provisioner: waiting for the cluster (" + e + ")");
        Thread.sleep(1000);
      }
    }
  }

  /** The plan from the environment and the command line, or null when help was asked for. */
  static Plan plan(Map<String, String> env, String[] args) {
    Map<String, Object> client = clientProperties(env);
    String prefix = env.getOrDefault("FERRET_TOPICS_PREFIX", "");
    String partitions = env.getOrDefault("FERRET_TOPICS_PARTITIONS", "4");
    String replication = env.getOrDefault("FERRET_TOPICS_REPLICATION", "1");
    String wait = env.getOrDefault("FERRET_TOPICS_WAIT", DEFAULT_WAIT.toSeconds() + "s");
    Retention defaults = Retention.DEFAULT;
    String bulkRetention =
        env.getOrDefault("FERRET_TOPICS_BULK_RETENTION", defaults.bulk().toSeconds() + "s");
    String retention =
        env.getOrDefault("FERRET_TOPICS_RETENTION", defaults.messages().toSeconds() + "s");
    String deadLetterRetention =
        env.getOrDefault(
            "FERRET_TOPICS_DEAD_LETTER_RETENTION", defaults.deadLetter().toSeconds() + "s");
    String deadLetterSize =
        env.getOrDefault(
            "FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE", Long.toString(defaults.deadLetterBytes()));
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-h") || arg.equals("--help")) {
        return null;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(arg + " needs a value");
      }
      String value = args[++i];
      switch (arg) {
        case "--bootstrap-servers" -> client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, value);
        case "--prefix" -> prefix = value;
        case "--partitions" -> partitions = value;
        case "--replication" -> replication = value;
        case "--wait" -> wait = value;
        case "--bulk-retention" -> bulkRetention = value;
        case "--retention" -> retention = value;
        case "--dead-letter-retention" -> deadLetterRetention = value;
        case "--dead-letter-retention-size" -> deadLetterSize = value;
        default -> throw new IllegalArgumentException("unknown argument '" + arg + "'");
      }
    }
    Object bootstrap = client.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    if (bootstrap == null || bootstrap.toString().isBlank()) {
      throw new IllegalArgumentException(
          "no bootstrap servers: set SPRING_KAFKA_BOOTSTRAP_SERVERS or --bootstrap-servers");
    }
    int partitionCount = positive("partitions", partitions, 10_000);
    int replicationFactor = positive("replication", replication, Short.MAX_VALUE);
    return new Plan(
        client,
        new TopicCatalog(prefix),
        partitionCount,
        (short) replicationFactor,
        duration(wait),
        new Retention(
            duration(bulkRetention),
            duration(retention),
            duration(deadLetterRetention),
            size(deadLetterSize)));
  }

  /**
   * Kafka client properties from the environment variables Spring Boot binds to {@code
   * spring.kafka.*}: the same variables configure the services and this tool.
   */
  static Map<String, Object> clientProperties(Map<String, String> env) {
    Map<String, Object> props = new HashMap<>();
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "ferret-topic-provisioner");
    Map<String, String> direct =
        Map.of(
            "SPRING_KAFKA_BOOTSTRAP_SERVERS", "bootstrap.servers",
            "SPRING_KAFKA_SECURITY_PROTOCOL", "security.protocol",
            "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION", "ssl.truststore.location",
            "SPRING_KAFKA_SSL_TRUST_STORE_TYPE", "ssl.truststore.type",
            "SPRING_KAFKA_SSL_TRUST_STORE_PASSWORD", "ssl.truststore.password",
            "SPRING_KAFKA_SSL_KEY_STORE_LOCATION", "ssl.keystore.location",
            "SPRING_KAFKA_SSL_KEY_STORE_TYPE", "ssl.keystore.type",
            "SPRING_KAFKA_SSL_KEY_STORE_PASSWORD", "ssl.keystore.password",
            "SPRING_KAFKA_SSL_KEY_PASSWORD", "ssl.key.password");
    String passthrough = "SPRING_KAFKA_PROPERTIES_";
    for (Map.Entry<String, String> e : env.entrySet()) {
      String key = e.getKey();
      if (key.startsWith(passthrough) && key.length() > passthrough.length()) {
        props.put(
            key.substring(passthrough.length()).toLowerCase(Locale.ROOT).replace('_', '.'),
            e.getValue());
      }
    }
    for (Map.Entry<String, String> e : direct.entrySet()) {
      String value = env.get(e.getKey());
      if (value != null && !value.isBlank()) {
        // Spring resource locations ("file:/etc/...") are plain paths to the Kafka client
        props.put(
            e.getValue(),
            e.getValue().endsWith(".location") && value.startsWith("file:")
                ? value.substring("file:".length())
                : value);
      }
    }
    return props;
  }

  private static int positive(String what, String value, int max) {
    try {
      int n = Integer.parseInt(value.trim());
      if (n < 1 || n > max) {
        throw new IllegalArgumentException(what + " must be 1.." + max + ", got " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " needs a number, got '" + value + "'", e);
    }
  }

  /**
   * {@code 90s}, {@code 5m}, {@code 500ms}, {@code 1h}, {@code 3d}, a plain number of seconds, or
   * ISO-8601.
   */
  static Duration duration(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      if (v.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      if (v.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      if (v.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      if (v.endsWith("d") && !v.startsWith("p")) {
        return Duration.ofDays(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      if (v.startsWith("p")) {
        return Duration.parse(value.trim());
      }
      return Duration.ofSeconds(Long.parseLong(v));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException("not a duration: '" + value + "'", e);
    }
  }

  /**
   * Bytes: {@code 64MB}, {@code 512KB}, {@code 1GB} (binary units, as Spring's DataSize), or a
   * number.
   */
  static long size(String value) {
    try {
      return DataSize.parse(value.trim()).toBytes();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a size: '" + value + "'", e);
    }
  }

  private static void usage(PrintStream out) {
    out.println(
        "usage: TopicProvisioner [--bootstrap-servers HOST:PORT] [--prefix P] [--partitions N]\n"
            + "                        [--replication R] [--wait 120s] [--bulk-retention 5m]\n"
            + "                        [--retention 1h] [--dead-letter-retention 24h]\n"
            + "                        [--dead-letter-retention-size 64MB]\n"
            + "  Creates every Ferret Stream topic and dead-letter topic (max.message.bytes "
            + KafkaLimits.MAX_RECORD_BYTES
            + ",\n"
            + "  retention.ms and segments sized to what each topic holds), or adds partitions,\n"
            + "  raises the limit and sets the retention on existing ones. Defaults come from the\n"
            + "  services' environment: SPRING_KAFKA_*, FERRET_TOPICS_PREFIX, _PARTITIONS,\n"
            + "  _REPLICATION, _WAIT, _BULK_RETENTION, _RETENTION, _DEAD_LETTER_RETENTION,\n"
            + "  _DEAD_LETTER_RETENTION_SIZE.");
  }
}

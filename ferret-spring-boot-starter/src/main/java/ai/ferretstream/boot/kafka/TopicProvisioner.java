package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.TopicCatalog;
import java.io.PrintStream;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

/**
 * Creates every pipeline topic and its dead-letter topic, or brings existing ones up to the
 * declared partition count and record size limit. This is what docker compose's {@code topics}
 * service and the Helm chart's topic Job run (from the gateway image):
 *
 * <pre>java -cp /app/app.jar ai.ferretstream.boot.kafka.TopicProvisioner</pre>
 *
 * <p>It reads the same environment as the services, so one set of values configures both: {@code
 * SPRING_KAFKA_BOOTSTRAP_SERVERS}, {@code SPRING_KAFKA_SECURITY_PROTOCOL}, {@code
 * SPRING_KAFKA_PROPERTIES_*} (e.g. {@code SPRING_KAFKA_PROPERTIES_SASL_MECHANISM}), {@code
 * SPRING_KAFKA_SSL_TRUST_STORE_*} / {@code SPRING_KAFKA_SSL_KEY_STORE_*}, and {@code
 * FERRET_TOPICS_PREFIX}, {@code FERRET_TOPICS_PARTITIONS}, {@code FERRET_TOPICS_REPLICATION}.
 * {@code FERRET_TOPICS_WAIT} (default 120s) is how long to wait for the cluster to answer.
 * Command-line flags override the environment.
 *
 * <p>Partitions are only ever added (Kafka cannot remove them); a topic with more partitions than
 * declared is left alone and reported. Exit status: 0 done, 1 failed, 2 bad configuration.
 */
public final class TopicProvisioner {

  /** Topic settings every pipeline topic needs: records of several MB. */
  public static final Map<String, String> TOPIC_CONFIGS =
      Map.of("max.message.bytes", Integer.toString(KafkaLimits.MAX_RECORD_BYTES));

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
      Duration waitFor) {}

  /** One line of the report per topic: what was done. */
  public record Outcome(String topic, String action) {
    @Override
    public String toString() {
      return topic + ": " + action;
    }
  }

  /** The declaration of every catalog topic and dead-letter topic, sized for our records. */
  public static List<NewTopic> declarations(
      TopicCatalog catalog, int partitions, short replication) {
    List<NewTopic> topics = new ArrayList<>();
    for (String name : catalog.allTopicNames()) {
      topics.add(new NewTopic(name, partitions, replication).configs(TOPIC_CONFIGS));
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
              + plan.replication());
      awaitCluster(admin, plan.waitFor());
      for (Outcome outcome :
          provision(admin, plan.catalog(), plan.partitions(), plan.replication())) {
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

  /**
   * Creates the missing topics, adds partitions and raises {@code max.message.bytes} where an
   * existing topic falls short.
   */
  public static List<Outcome> provision(
      Admin admin, TopicCatalog catalog, int partitions, short replication)
      throws InterruptedException, ExecutionException, TimeoutException {
    List<NewTopic> declared = declarations(catalog, partitions, replication);
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
      Map<ConfigResource, Collection<AlterConfigOp>> raise = new HashMap<>();
      for (ConfigResource resource : resources) {
        ConfigEntry entry = configs.get(resource).get("max.message.bytes");
        if (entry == null
            || entry.value() == null
            || Long.parseLong(entry.value()) < KafkaLimits.MAX_RECORD_BYTES) {
          raise.put(
              resource,
              List.of(
                  new AlterConfigOp(
                      new ConfigEntry(
                          "max.message.bytes", Integer.toString(KafkaLimits.MAX_RECORD_BYTES)),
                      AlterConfigOp.OpType.SET)));
        }
      }
      if (!raise.isEmpty()) {
        admin.incrementalAlterConfigs(raise).all().get(30, TimeUnit.SECONDS);
      }
      for (String name : toCheck) {
        int have = descriptions.get(name).partitions().size();
        List<String> changes = new ArrayList<>();
        if (grow.containsKey(name)) {
          changes.add("partitions " + have + " -> " + partitions);
        } else if (have > partitions) {
          changes.add("has " + have + " partitions, more than the " + partitions + " declared");
        }
        if (raise.containsKey(new ConfigResource(ConfigResource.Type.TOPIC, name))) {
          changes.add("max.message.bytes raised to " + KafkaLimits.MAX_RECORD_BYTES);
        }
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
        duration(wait));
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

  /** {@code 90s}, {@code 5m}, {@code 500ms}, a plain number of seconds, or ISO-8601. */
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
      if (v.startsWith("p")) {
        return Duration.parse(value.trim());
      }
      return Duration.ofSeconds(Long.parseLong(v));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException("not a duration: '" + value + "'", e);
    }
  }

  private static void usage(PrintStream out) {
    out.println(
        "usage: TopicProvisioner [--bootstrap-servers HOST:PORT] [--prefix P] [--partitions N]\n"
            + "                        [--replication R] [--wait 120s]\n"
            + "  Creates every Ferret Stream topic and dead-letter topic (max.message.bytes "
            + KafkaLimits.MAX_RECORD_BYTES
            + "),\n"
            + "  or adds partitions / raises the limit on existing ones. Defaults come from the\n"
            + "  services' environment: SPRING_KAFKA_*, FERRET_TOPICS_PREFIX, _PARTITIONS,\n"
            + "  _REPLICATION, _WAIT.");
  }
}

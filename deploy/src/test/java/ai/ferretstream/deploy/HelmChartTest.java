package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Helm chart in {@code helm/}: {@code helm lint} and {@code helm template} (Helm's Go code
 * through helm-java) for every scenario in {@code helm/ci/}, the rendered manifests validated
 * against the Kubernetes, KEDA and prometheus-operator schemas (node, {@code
 * deploy/src/test/k8s-validate}), and assertions on what the chart must get right: GPU scheduling
 * of Triton, KEDA triggers that name exactly the consumer group and topic of their Deployment, the
 * Kafka security settings in every Kafka client, the API keys, the topic provisioning, and values
 * that the schema or the templates must refuse.
 */
class HelmChartTest {

  private static final String RELEASE = "ferret";
  private static final String NAMESPACE = "ml";
  private static final String FULLNAME = "ferret-ferret-stream";
  private static final String KUBE_VERSION = "v1.31.0";
  private static final String NPM_HINT = "run `npm ci --prefix deploy/src/test/k8s-validate`";

  /** Base topic names; each also has a ".dlt". */
  private static final List<String> TOPICS =
      List.of(
          "ferret.requests",
          "ferret.tiles.global",
          "ferret.tiles.local",
          "ferret.features",
          "ferret.feature-notices",
          "ferret.fused",
          "ferret.answers",
          "ferret.control");

  /** Component -> (group env var, base topic it consumes). */
  private static final Map<String, String[]> STAGES = new LinkedHashMap<>();

  static {
    STAGES.put("gateway", new String[] {"FERRET_GATEWAY_ANSWERS_GROUP_ID", "ferret.answers"});
    STAGES.put("tiler", new String[] {"FERRET_TILER_GROUP_ID", "ferret.requests"});
    STAGES.put("encoder-global", new String[] {"FERRET_ENCODER_GROUP_ID", "ferret.tiles.global"});
    STAGES.put("encoder-local", new String[] {"FERRET_ENCODER_GROUP_ID", "ferret.tiles.local"});
    STAGES.put("fusion", new String[] {"FERRET_FUSION_GROUP_ID", "ferret.feature-notices"});
    STAGES.put("llm", new String[] {"FERRET_LLM_GROUP_ID", "ferret.fused"});
  }

  private static Path repo;
  private static Path chart;
  private static Path validator;
  private static Path renderDir;
  private static final Map<String, List<Map<String, Object>>> rendered = new ConcurrentHashMap<>();

  @BeforeAll
  static void locateChartAndValidator() throws IOException {
    Path dir = Paths.get("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("helm/ci"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("repository root with helm/ci above %s", Paths.get("")).isNotNull();
    repo = dir;
    chart = repo.resolve("helm");
    validator = repo.resolve("deploy/src/test/k8s-validate");
    renderDir = repo.resolve("deploy/target/helm-rendered");
    Files.createDirectories(renderDir);
    requireNodeAndModules();
  }

  /** Fails (never skips) when node or the validator's npm modules are missing. */
  private static void requireNodeAndModules() {
    ProcessResult version;
    try {
      version = exec(List.of("node", "--version"), repo);
    } catch (IOException e) {
      throw new AssertionError(
          "node is not installed (needed to validate manifests); install Node.js 20+ and "
              + NPM_HINT,
          e);
    }
    assertThat(version.exitCode).as("node --version: %s", version.output).isZero();
    for (String module :
        List.of(
            "kubernetes-models",
            "js-yaml",
            "@kubernetes-models/keda",
            "@kubernetes-models/prometheus-operator")) {
      if (!Files.isDirectory(validator.resolve("node_modules").resolve(module))) {
        fail("npm module %s missing in %s: %s", module, validator, NPM_HINT);
      }
    }
  }

  static Stream<String> scenarios() throws IOException {
    Path ci = Paths.get("").toAbsolutePath();
    while (ci != null && !Files.isDirectory(ci.resolve("helm/ci"))) {
      ci = ci.getParent();
    }
    try (Stream<Path> files = Files.list(Objects.requireNonNull(ci).resolve("helm/ci"))) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .sorted()
          .toList()
          .stream();
    }
  }

  @Test
  void everyRequiredScenarioExists() throws IOException {
    assertThat(scenarios().toList())
        .contains(
            "defaults.yaml",
            "autoscaling.yaml",
            "gpu.yaml",
            "external-kafka-sasl.yaml",
            "strimzi.yaml",
            "servicemonitor.yaml");
  }

  // ------------------------------------------------------------------------------------------
  // lint, template, schema validation of every scenario
  // ------------------------------------------------------------------------------------------

  @ParameterizedTest(name = "helm lint --strict with {0}")
  @MethodSource("scenarios")
  void lintPasses(String scenario) throws IOException {
    // helm-java's lint takes no values file: lint a copy whose values.yaml is the merge
    Path copy = Files.createTempDirectory("ferret-chart-");
    try {
      copyTree(chart, copy);
      Map<String, Object> values = loadMap(chart.resolve("values.yaml"));
      Map<String, Object> overrides = loadMap(chart.resolve("ci").resolve(scenario));
      deepMerge(values, overrides);
      Files.writeString(copy.resolve("values.yaml"), new Yaml().dump(values));
      LintResult result = new Helm(copy).lint().strict().call();
      assertThat(result.isFailed()).as("helm lint: %s", result.getMessages()).isFalse();
      assertThat(result.getMessages())
          .noneMatch(m -> m.startsWith("[ERROR]") || m.startsWith("[WARNING]"));
    } finally {
      deleteTree(copy);
    }
  }

  @ParameterizedTest(name = "rendered {0} validates against the Kubernetes and CRD schemas")
  @MethodSource("scenarios")
  void renderedManifestsValidate(String scenario) throws IOException {
    List<Map<String, Object>> docs = render(scenario);
    assertThat(docs).isNotEmpty();
    Path file = renderDir.resolve(scenario);
    ProcessResult result =
        exec(
            List.of(
                "node",
                validator.resolve("validate.mjs").toString(),
                "--allow-unvalidated=kafka.strimzi.io/v1beta2/KafkaTopic",
                file.toString()),
            validator);
    assertThat(result.exitCode)
        .as("validate.mjs on %s (%s): %s", scenario, NPM_HINT, result.output)
        .isZero();
    JsonNode report = new ObjectMapper().readTree(lastLine(result.output));
    assertThat(report.get("errors")).isEmpty();
    long kafkaTopics = docs.stream().filter(d -> "KafkaTopic".equals(d.get("kind"))).count();
    assertThat(report.get("documents").asInt()).isEqualTo(docs.size());
    assertThat(report.get("validated").asInt()).isEqualTo(docs.size() - (int) kafkaTopics);
  }

  @ParameterizedTest(name = "common conventions hold in {0}")
  @MethodSource("scenarios")
  void commonConventions(String scenario) {
    List<Map<String, Object>> docs = render(scenario);
    for (Map<String, Object> doc : docs) {
      Map<String, Object> labels = map(doc, "metadata", "labels");
      assertThat(labels)
          .as("%s %s labels", doc.get("kind"), name(doc))
          .containsKeys(
              "app.kubernetes.io/name",
              "app.kubernetes.io/instance",
              "app.kubernetes.io/component",
              "app.kubernetes.io/version",
              "app.kubernetes.io/managed-by",
              "helm.sh/chart");
    }
    for (Map<String, Object> workload : kinds(docs, "Deployment", "StatefulSet", "Job")) {
      Map<String, Object> pod = map(workload, "spec", "template", "spec");
      for (Map<String, Object> c : list(pod, "containers")) {
        String image = (String) c.get("image");
        assertThat(image).as("image of %s", name(workload)).doesNotEndWith(":latest");
        assertThat(image)
            .as("image of %s is pinned", name(workload))
            .matches(".+(:[\\w.-]+|@sha256:[a-f0-9]{64})$");
        assertThat(envNames(c))
            .as("%s never overrides JDK_JAVA_OPTIONS", name(workload))
            .doesNotContain("JDK_JAVA_OPTIONS");
        assertThat(c).as("%s has resources", name(workload)).containsKey("resources");
        Map<String, Object> sc = map(c, "securityContext");
        assertThat(sc.get("allowPrivilegeEscalation")).isEqualTo(false);
        assertThat(values(sc, "capabilities", "drop")).contains("ALL");
      }
      assertThat(map(pod, "securityContext").get("runAsNonRoot"))
          .as("%s runs as non-root", name(workload))
          .isEqualTo(true);
    }
    // each of the five Spring services (encoder twice): same pod conventions
    for (String component : STAGES.keySet()) {
      Map<String, Object> d = workload(docs, "Deployment", component);
      Map<String, Object> pod = map(d, "spec", "template", "spec");
      Map<String, Object> c = list(pod, "containers").get(0);
      assertThat(map(pod, "securityContext")).containsEntry("runAsUser", 10001);
      assertThat(map(c, "securityContext")).containsEntry("readOnlyRootFilesystem", true);
      assertThat(list(c, "volumeMounts")).anyMatch(m -> "/tmp".equals(m.get("mountPath")));
      assertThat(map(c, "livenessProbe", "httpGet"))
          .containsEntry("path", "/actuator/health/liveness");
      assertThat(map(c, "readinessProbe", "httpGet"))
          .containsEntry("path", "/actuator/health/readiness");
      assertThat(map(c, "startupProbe", "httpGet"))
          .containsEntry("path", "/actuator/health/liveness");
      assertThat(((Number) pod.get("terminationGracePeriodSeconds")).intValue()).isBetween(30, 60);
      String port = env(c, "SERVER_PORT");
      assertThat(list(c, "ports").get(0).get("containerPort")).hasToString(port);
      assertThat(env(c, "JAVA_TOOL_OPTIONS")).contains("MaxRAMPercentage");
    }
    // every Service selects the pods of exactly one workload, on ports they expose
    for (Map<String, Object> svc : kinds(docs, "Service")) {
      Map<String, Object> selector = map(svc, "spec", "selector");
      List<Map<String, Object>> targets =
          kinds(docs, "Deployment", "StatefulSet").stream()
              .filter(
                  w ->
                      map(w, "spec", "template", "metadata", "labels")
                          .entrySet()
                          .containsAll(selector.entrySet()))
              .toList();
      assertThat(targets).as("workloads selected by Service %s", name(svc)).hasSize(1);
      Set<Object> portNames =
          list(map(targets.get(0), "spec", "template", "spec"), "containers").stream()
              .flatMap(c -> list(c, "ports").stream())
              .map(p -> p.get("name"))
              .collect(Collectors.toSet());
      for (Map<String, Object> p : list(svc, "spec", "ports")) {
        assertThat(portNames).as("target port of %s", name(svc)).contains(p.get("targetPort"));
      }
    }
    // a PodDisruptionBudget for every Deployment, selecting it
    for (Map<String, Object> d : kinds(docs, "Deployment")) {
      assertThat(kinds(docs, "PodDisruptionBudget"))
          .as("PDB of %s", name(d))
          .anyMatch(
              pdb ->
                  map(pdb, "spec", "selector", "matchLabels")
                      .equals(map(d, "spec", "selector", "matchLabels")));
    }
  }

  @ParameterizedTest(
      name = "every container in {0} has requests and limits, its JVM sized from them")
  @MethodSource("scenarios")
  void everyContainerHasRequestsAndAMemoryLimitAndItsJvmIsSizedFromIt(String scenario) {
    List<Map<String, Object>> docs = render(scenario);
    for (Map<String, Object> workload : kinds(docs, "Deployment", "StatefulSet", "Job")) {
      Map<String, Object> pod = map(workload, "spec", "template", "spec");
      List<Map<String, Object>> containers = new ArrayList<>(list(pod, "containers"));
      containers.addAll(list(pod, "initContainers"));
      for (Map<String, Object> c : containers) {
        String what = name(workload) + "/" + c.get("name");
        Map<String, Object> requests = map(c, "resources", "requests");
        Map<String, Object> limits = map(c, "resources", "limits");
        assertThat(requests).as("requests of %s", what).containsKeys("cpu", "memory");
        assertThat(limits).as("limits of %s", what).containsKey("memory");
        assertThat(bytes(limits.get("memory")))
            .as("memory limit of %s", what)
            .isGreaterThanOrEqualTo(bytes(requests.get("memory")));
        if (envNames(c).contains("JAVA_TOOL_OPTIONS")) {
          // the heap is a share of the container's limit; an OOM ends the process
          assertThat(env(c, "JAVA_TOOL_OPTIONS"))
              .as("JAVA_TOOL_OPTIONS of %s", what)
              .containsPattern("-XX:MaxRAMPercentage=[1-9][0-9]")
              .contains("-XX:+ExitOnOutOfMemoryError");
        }
      }
    }
  }

  @Test
  void theDevInferenceServerLeavesHalfItsMemoryToOnnxRuntime() {
    Map<String, Object> c =
        container(workload(render("defaults.yaml"), "Deployment", "inference-server"));
    assertThat(env(c, "JAVA_TOOL_OPTIONS")).contains("-XX:MaxRAMPercentage=50");
  }

  @Test
  void kafkaStorageIsBoundedByTheTopicsRetention() {
    List<Map<String, Object>> docs = render("defaults.yaml");
    for (Map<String, Object> c : kafkaClients(docs)) {
      assertThat(env(c, "FERRET_TOPICS_BULK_RETENTION"))
          .as(c.get("name").toString())
          .isEqualTo("5m");
      assertThat(env(c, "FERRET_TOPICS_RETENTION")).isEqualTo("1h");
      assertThat(env(c, "FERRET_TOPICS_DEAD_LETTER_RETENTION")).isEqualTo("24h");
      assertThat(env(c, "FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE")).isEqualTo("64MB");
    }
    // the bundled broker deletes expired segments within half a minute, on a volume of the size
    // helm/README.md derives from the retention
    Map<String, Object> kafka = workload(docs, "StatefulSet", "kafka");
    assertThat(env(container(kafka), "KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS")).isEqualTo("30000");
    assertThat(
            map(
                list(kafka, "spec", "volumeClaimTemplates").get(0),
                "spec",
                "resources",
                "requests"))
        .containsEntry("storage", "20Gi");

    // the same retention on Strimzi's KafkaTopics, in Kafka's units
    Map<String, Object> sets = new LinkedHashMap<>();
    sets.put("topics.bulkRetention", "10m");
    sets.put("topics.deadLetterRetentionSize", "32MB");
    List<Map<String, Object>> strimzi =
        parse(template(List.of(chart.resolve("ci").resolve("strimzi.yaml")), sets));
    Map<String, Map<String, Object>> configs = new LinkedHashMap<>();
    for (Map<String, Object> t : kinds(strimzi, "KafkaTopic")) {
      configs.put((String) map(t, "spec").get("topicName"), map(t, "spec", "config"));
    }
    assertThat(configs.get("team_a.ferret.tiles.local"))
        .containsEntry("retention.ms", 600000)
        .containsEntry("segment.ms", 120000)
        .containsEntry("segment.bytes", 33554432)
        .containsEntry("cleanup.policy", "delete")
        .doesNotContainKey("retention.bytes");
    assertThat(configs.get("team_a.ferret.features")).containsEntry("retention.ms", 600000);
    assertThat(configs.get("team_a.ferret.requests"))
        .containsEntry("retention.ms", 3600000)
        .containsEntry("segment.ms", 720000);
    for (String t : TOPICS) {
      assertThat(configs.get("team_a." + t + ".dlt"))
          .as(t + ".dlt")
          .containsEntry("retention.ms", 86400000)
          .containsEntry("retention.bytes", 33554432);
    }
    Map<String, Object> job =
        container(
            kinds(parse(template(List.of(), Map.of("topics.bulkRetention", "10m"))), "Job").get(0));
    assertThat(env(job, "FERRET_TOPICS_BULK_RETENTION")).isEqualTo("10m");
  }

  @ParameterizedTest(name = "every Kafka client in {0} has the same Kafka configuration")
  @MethodSource("scenarios")
  void everyKafkaClientSharesOneConfiguration(String scenario) {
    List<Map<String, Object>> docs = render(scenario);
    List<Map<String, Object>> clients = kafkaClients(docs);
    assertThat(clients).hasSizeGreaterThanOrEqualTo(STAGES.size());
    Map<String, Object> reference = kafkaEnv(clients.get(0));
    assertThat(reference)
        .containsKeys(
            "SPRING_KAFKA_BOOTSTRAP_SERVERS",
            "FERRET_TOPICS_PREFIX",
            "FERRET_TOPICS_PARTITIONS",
            "FERRET_TOPICS_REPLICATION");
    for (Map<String, Object> c : clients) {
      assertThat(kafkaEnv(c)).as("Kafka env of %s", c.get("name")).isEqualTo(reference);
    }
  }

  // ------------------------------------------------------------------------------------------
  // scenario-specific assertions
  // ------------------------------------------------------------------------------------------

  @Test
  void defaultsAreATrialInstallWithApiKeysAndDevModels() {
    List<Map<String, Object>> docs = render("defaults.yaml");
    // API keys on by default, from a chart-made Secret
    Map<String, Object> secret = workloadByName(docs, "Secret", FULLNAME + "-api-keys");
    Map<String, Object> data = map(secret, "data");
    assertThat(data).containsKey("api-keys");
    assertThat(
            new String(
                java.util.Base64.getDecoder().decode((String) data.get("api-keys")),
                StandardCharsets.UTF_8))
        .hasSizeGreaterThan(32);
    Map<String, Object> gateway = container(workload(docs, "Deployment", "gateway"));
    assertThat(envVar(gateway, "FERRET_AUTH_API_KEYS"))
        .extracting(e -> map(e, "valueFrom", "secretKeyRef"))
        .isEqualTo(Map.of("name", FULLNAME + "-api-keys", "key", "api-keys"));
    // the bundled broker: one KRaft node sized for multi-MB records
    Map<String, Object> kafka = workload(docs, "StatefulSet", "kafka");
    Map<String, Object> kc = container(kafka);
    assertThat(kc.get("image")).isEqualTo("docker.io/apache/kafka:4.1.2");
    assertThat(env(kc, "KAFKA_PROCESS_ROLES")).isEqualTo("broker,controller");
    assertThat(Long.parseLong(env(kc, "KAFKA_MESSAGE_MAX_BYTES"))).isGreaterThan(16_777_216L);
    assertThat(Long.parseLong(env(kc, "KAFKA_REPLICA_FETCH_MAX_BYTES"))).isGreaterThan(16_777_216L);
    assertThat(env(kc, "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR")).isEqualTo("1");
    assertThat(env(kc, "CLUSTER_ID")).hasSize(22);
    assertThat(env(kc, "KAFKA_CONTROLLER_QUORUM_VOTERS"))
        .startsWith("1@" + FULLNAME + "-kafka-0." + FULLNAME + "-kafka-headless.");
    assertThat(list(kafka, "spec", "volumeClaimTemplates")).hasSize(1);
    // fully qualified, so that KEDA's scaler (in its own namespace) reaches it too
    assertThat(env(gateway, "SPRING_KAFKA_BOOTSTRAP_SERVERS"))
        .isEqualTo(FULLNAME + "-kafka." + NAMESPACE + ".svc:9092");
    // the log directory below the volume root (ext4 volumes have lost+found there)
    assertThat(env(kc, "KAFKA_LOG_DIRS")).isEqualTo("/var/lib/kafka/data/logs");
    assertThat(list(kc, "volumeMounts"))
        .anyMatch(m -> "/var/lib/kafka/data".equals(m.get("mountPath")));
    // the topic Job: the provisioner from the gateway image, 12 partitions
    Map<String, Object> job = kinds(docs, "Job").get(0);
    Map<String, Object> jc = container(job);
    assertThat(values(jc, "command"))
        .containsExactly(
            "java", "-cp", "/app/app.jar", "ai.ferretstream.boot.kafka.TopicProvisioner");
    assertThat(jc.get("image")).isEqualTo("ferretstream/gateway:0.1.0");
    assertThat(env(jc, "FERRET_TOPICS_PARTITIONS")).isEqualTo("12");
    assertThat(env(jc, "FERRET_TOPICS_WAIT")).isEqualTo("300s");
    assertThat(kinds(docs, "KafkaTopic", "ScaledObject", "ServiceMonitor", "Ingress")).isEmpty();
    // the dev backend is labelled as dev models and is every stage's inference target
    Map<String, Object> dev = workload(docs, "Deployment", "inference-server");
    assertThat(
            map(dev, "spec", "template", "metadata", "annotations").get("ferretstream.ai/models"))
        .asString()
        .contains("dev models");
    // the server listens where the Service, probes and ServiceMonitor look
    assertThat(values(container(dev), "args"))
        .containsExactly("--model-repository=/models", "--port=8001", "--metrics-port=8002");
    for (String stage : List.of("encoder-global", "encoder-local", "fusion", "llm")) {
      assertThat(env(container(workload(docs, "Deployment", stage)), "FERRET_INFERENCE_TARGET"))
          .isEqualTo("dns:///" + FULLNAME + "-inference-server-headless:8001");
    }
    assertThat(
            env(container(workload(docs, "Deployment", "encoder-global")), "FERRET_ENCODER_ROLE"))
        .isEqualTo("global");
    assertThat(env(container(workload(docs, "Deployment", "encoder-local")), "FERRET_ENCODER_ROLE"))
        .isEqualTo("local");
    for (String stage : STAGES.keySet()) {
      Map<String, Object> d = workload(docs, "Deployment", stage);
      assertThat(map(d, "spec")).containsKey("replicas");
    }
  }

  @Test
  void tritonRunsOnGpuNodesWithTheModelRepositoryVolume() {
    List<Map<String, Object>> docs = render("gpu.yaml");
    assertThat(find(docs, "Deployment", FULLNAME + "-inference-server")).isEmpty();
    Map<String, Object> triton = workload(docs, "Deployment", "triton");
    Map<String, Object> pod = map(triton, "spec", "template", "spec");
    Map<String, Object> c = container(triton);
    assertThat(c.get("image")).isEqualTo("nvcr.io/nvidia/tritonserver:25.01-py3");
    assertThat(map(c, "resources", "limits")).containsEntry("nvidia.com/gpu", 1);
    assertThat(list(pod, "tolerations"))
        .anyMatch(
            t ->
                "nvidia.com/gpu".equals(t.get("key"))
                    && "NoSchedule".equals(t.get("effect"))
                    && "Exists".equals(t.get("operator")));
    assertThat(map(pod, "nodeSelector"))
        .containsEntry("cloud.google.com/gke-accelerator", "nvidia-h100-80gb");
    assertThat(values(c, "args"))
        .contains(
            "tritonserver",
            "--model-repository=/models",
            "--http-port=8000",
            "--grpc-port=8001",
            "--metrics-port=8002",
            "--model-control-mode=none",
            "--log-info=true");
    assertThat(list(pod, "volumes"))
        .anyMatch(
            v ->
                "model-repository".equals(v.get("name"))
                    && "ferret-models".equals(map(v, "persistentVolumeClaim").get("claimName")));
    assertThat(list(pod, "volumes"))
        .anyMatch(
            v -> "dshm".equals(v.get("name")) && "Memory".equals(map(v, "emptyDir").get("medium")));
    assertThat(list(c, "volumeMounts"))
        .anyMatch(
            m ->
                "/models".equals(m.get("mountPath"))
                    && "model-repository".equals(m.get("subPath")));
    assertThat(map(c, "livenessProbe", "httpGet"))
        .containsEntry("path", "/v2/health/live")
        .containsEntry("port", "http");
    assertThat(map(c, "readinessProbe", "httpGet")).containsEntry("path", "/v2/health/ready");
    assertThat(list(c, "ports"))
        .anyMatch(
            p ->
                Integer.valueOf(8000).equals(p.get("containerPort"))
                    && "http".equals(p.get("name")));
    assertThat(map(triton, "spec").get("replicas")).isEqualTo(2);
    for (String stage : List.of("encoder-global", "encoder-local", "fusion", "llm")) {
      assertThat(env(container(workload(docs, "Deployment", stage)), "FERRET_INFERENCE_TARGET"))
          .isEqualTo("dns:///" + FULLNAME + "-triton-headless:8001");
      assertThat(
              env(
                  container(workload(docs, "Deployment", stage)),
                  "FERRET_INFERENCE_LOAD_BALANCING"))
          .isEqualTo("round_robin");
      assertThat(
              env(
                  container(workload(docs, "Deployment", stage)),
                  "FERRET_INFERENCE_RE_RESOLVE_INTERVAL"))
          .isEqualTo("30s");
    }
    // the clients' target: a headless Service over the Triton pods' gRPC port
    Map<String, Object> headless =
        docs.stream()
            .filter(
                d ->
                    "Service".equals(d.get("kind"))
                        && (FULLNAME + "-triton-headless").equals(map(d, "metadata").get("name")))
            .findFirst()
            .orElseThrow();
    assertThat(map(headless, "spec")).containsEntry("clusterIP", "None");
    assertThat(list(headless, "spec", "ports"))
        .anyMatch(p -> Integer.valueOf(8001).equals(p.get("port")));
    Map<String, Object> svc = workload(docs, "Service", "triton");
    assertThat(list(svc, "spec", "ports"))
        .anyMatch(p -> Integer.valueOf(8001).equals(p.get("port")) && "grpc".equals(p.get("name")));
  }

  @Test
  void kedaTriggersNameTheGroupAndTopicTheirDeploymentConsumes() {
    List<Map<String, Object>> docs = render("autoscaling.yaml");
    List<Map<String, Object>> scaled = kinds(docs, "ScaledObject");
    assertThat(scaled).hasSize(STAGES.size() + 1);
    for (Map.Entry<String, String[]> stage : STAGES.entrySet()) {
      Map<String, Object> so = workload(docs, "ScaledObject", stage.getKey());
      String target = (String) map(so, "spec", "scaleTargetRef").get("name");
      Map<String, Object> deployment = workloadByName(docs, "Deployment", target);
      assertThat(map(deployment, "spec"))
          .as("KEDA owns the replicas of %s", target)
          .doesNotContainKey("replicas");
      Map<String, Object> c = container(deployment);
      assertThat(((Number) map(so, "spec").get("minReplicaCount")).intValue())
          .isGreaterThanOrEqualTo(1);
      assertThat(
              map(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown"))
          .containsKey("stabilizationWindowSeconds");
      List<Map<String, Object>> kafkaTriggers =
          list(so, "spec", "triggers").stream().filter(t -> "kafka".equals(t.get("type"))).toList();
      if (stage.getKey().equals("gateway")) {
        assertThat(kafkaTriggers).as("the gateway scales on CPU, never on lag").isEmpty();
        assertThat(list(so, "spec", "triggers"))
            .singleElement()
            .satisfies(t -> assertThat(t.get("type")).isEqualTo("cpu"));
        assertThat(((Number) map(so, "spec").get("maxReplicaCount")).intValue())
            .isLessThanOrEqualTo(Integer.parseInt(env(c, "FERRET_TOPICS_PARTITIONS")));
        continue;
      }
      assertThat(kafkaTriggers).as("lag trigger of %s", stage.getKey()).hasSize(1);
      Map<String, Object> meta = map(kafkaTriggers.get(0), "metadata");
      // the SAME values: what the pod consumes is what KEDA measures
      assertThat(meta.get("consumerGroup")).isEqualTo(env(c, stage.getValue()[0]));
      assertThat(meta.get("topic")).isEqualTo(env(c, "FERRET_TOPICS_PREFIX") + stage.getValue()[1]);
      assertThat(meta.get("topic")).isEqualTo("prod-" + stage.getValue()[1]);
      assertThat(meta.get("bootstrapServers")).isEqualTo(env(c, "SPRING_KAFKA_BOOTSTRAP_SERVERS"));
      // KEDA resolves it from its own namespace: a short Service name would not resolve there
      assertThat((String) meta.get("bootstrapServers")).contains("." + NAMESPACE + ".svc:");
      assertThat(meta.get("offsetResetPolicy")).isEqualTo("earliest");
      assertThat(meta.get("allowIdleConsumers")).as("replicas stay capped by partitions").isNull();
    }
    assertThat(list(workload(docs, "ScaledObject", "llm"), "spec", "triggers"))
        .anyMatch(t -> "cpu".equals(t.get("type")));

    // the GPU side: Triton on queue/compute time and on the encoders' tile lag
    Map<String, Object> so = workload(docs, "ScaledObject", "triton");
    assertThat(map(so, "spec", "scaleTargetRef").get("name")).isEqualTo(FULLNAME + "-triton");
    assertThat(map(so, "spec"))
        .containsEntry("minReplicaCount", 1)
        .containsEntry("maxReplicaCount", 4);
    assertThat(
            map(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown"))
        .containsEntry("stabilizationWindowSeconds", 900);
    List<Map<String, Object>> triggers = list(so, "spec", "triggers");
    Map<String, Object> prometheus =
        triggers.stream().filter(t -> "prometheus".equals(t.get("type"))).findFirst().orElseThrow();
    String query = (String) map(prometheus, "metadata").get("query");
    assertThat(query)
        .contains(
            "nv_inference_queue_duration_us",
            "nv_inference_compute_infer_duration_us",
            "clip_vision|dinov2_vision",
            "namespace=\"" + NAMESPACE + "\"")
        .contains("service=\"" + FULLNAME + "-triton\"");
    assertThat(map(prometheus, "metadata"))
        .containsEntry("threshold", "1")
        .containsEntry(
            "serverAddress", "http://kube-prometheus-stack-prometheus.monitoring.svc:9090");
    assertThat(prometheus.get("metricType")).isEqualTo("Value");
    for (String encoder : List.of("encoder-global", "encoder-local")) {
      Map<String, Object> c = container(workload(docs, "Deployment", encoder));
      assertThat(triggers)
          .as("Triton scales on the tile lag of %s", encoder)
          .anyMatch(
              t ->
                  "kafka".equals(t.get("type"))
                      && env(c, "FERRET_ENCODER_GROUP_ID")
                          .equals(map(t, "metadata").get("consumerGroup"))
                      && (env(c, "FERRET_TOPICS_PREFIX") + STAGES.get(encoder)[1])
                          .equals(map(t, "metadata").get("topic")));
    }
    // the ServiceMonitor scrapes the Service the query selects
    Map<String, Object> sm = workload(docs, "ServiceMonitor", "triton");
    assertThat(list(sm, "spec", "endpoints").get(0))
        .containsEntry("port", "metrics")
        .containsEntry("path", "/metrics");
    // object storage repository: no volume, credentials from the Secret
    Map<String, Object> tc = container(workload(docs, "Deployment", "triton"));
    assertThat(values(tc, "args"))
        .contains("--model-repository=s3://ferret-models/model-repository");
    assertThat(list(tc, "envFrom"))
        .anyMatch(e -> "ferret-models-s3".equals(map(e, "secretRef").get("name")));
  }

  @Test
  void saslAndTlsReachEveryKafkaClientAndKeda() {
    List<Map<String, Object>> docs = render("external-kafka-sasl.yaml");
    assertThat(kinds(docs, "StatefulSet")).as("no bundled broker").isEmpty();
    List<Map<String, Object>> clients = kafkaClients(docs);
    assertThat(clients.stream().map(c -> c.get("name")))
        .contains("topics", "gateway", "tiler", "encoder-global", "encoder-local", "fusion", "llm");
    for (Map<String, Object> c : clients) {
      assertThat(env(c, "SPRING_KAFKA_BOOTSTRAP_SERVERS"))
          .isEqualTo("kafka-0.kafka.example.internal:9093,kafka-1.kafka.example.internal:9093");
      assertThat(env(c, "SPRING_KAFKA_SECURITY_PROTOCOL")).isEqualTo("SASL_SSL");
      assertThat(env(c, "SPRING_KAFKA_PROPERTIES_SASL_MECHANISM")).isEqualTo("SCRAM-SHA-512");
      assertThat(
              map(
                  envVar(c, "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG"),
                  "valueFrom",
                  "secretKeyRef"))
          .as("JAAS of %s", c.get("name"))
          .isEqualTo(Map.of("name", "ferret-kafka-user", "key", "sasl.jaas.config"));
      assertThat(env(c, "SPRING_KAFKA_SSL_TRUST_STORE_TYPE")).isEqualTo("PEM");
      assertThat(env(c, "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION"))
          .isEqualTo("file:/etc/ferret/kafka-ca/ca.crt");
      assertThat(list(c, "volumeMounts"))
          .anyMatch(
              m ->
                  "kafka-ca".equals(m.get("name"))
                      && "/etc/ferret/kafka-ca".equals(m.get("mountPath")));
      assertThat(env(c, "FERRET_TOPICS_REPLICATION")).isEqualTo("3");
    }
    for (Map<String, Object> w : kinds(docs, "Deployment", "Job")) {
      Map<String, Object> pod = map(w, "spec", "template", "spec");
      if (list(pod, "containers").stream()
          .anyMatch(c -> envNames(c).contains("SPRING_KAFKA_BOOTSTRAP_SERVERS"))) {
        assertThat(list(pod, "volumes"))
            .anyMatch(
                v ->
                    "kafka-ca".equals(v.get("name"))
                        && "kafka-cluster-ca".equals(map(v, "secret").get("secretName")));
      }
    }
    // KEDA reads the same Secrets through a TriggerAuthentication
    Map<String, Object> auth = kinds(docs, "TriggerAuthentication").get(0);
    assertThat(list(auth, "spec", "secretTargetRef"))
        .containsExactlyInAnyOrder(
            Map.of("parameter", "username", "name", "ferret-kafka-user", "key", "username"),
            Map.of("parameter", "password", "name", "ferret-kafka-user", "key", "password"),
            Map.of("parameter", "ca", "name", "kafka-cluster-ca", "key", "ca.crt"));
    for (Map<String, Object> so : kinds(docs, "ScaledObject")) {
      for (Map<String, Object> t : list(so, "spec", "triggers")) {
        if ("kafka".equals(t.get("type"))) {
          assertThat(map(t, "metadata"))
              .containsEntry("sasl", "scram_sha512")
              .containsEntry("tls", "enable");
          assertThat(map(t, "authenticationRef")).containsEntry("name", name(auth));
        }
      }
    }
    // API keys from the existing Secret; the chart makes none
    assertThat(kinds(docs, "Secret")).isEmpty();
    assertThat(
            map(
                envVar(container(workload(docs, "Deployment", "gateway")), "FERRET_AUTH_API_KEYS"),
                "valueFrom",
                "secretKeyRef"))
        .isEqualTo(Map.of("name", "ferret-api-keys", "key", "keys"));
    // external inference backend: no inference Deployment, target as given
    assertThat(find(docs, "Deployment", FULLNAME + "-triton")).isEmpty();
    assertThat(find(docs, "Deployment", FULLNAME + "-inference-server")).isEmpty();
    assertThat(env(container(workload(docs, "Deployment", "llm")), "FERRET_INFERENCE_TARGET"))
        .isEqualTo("triton.inference.svc.cluster.local:8001");
  }

  @Test
  void strimziScenarioRendersKafkaTopicsInsteadOfTheJob() {
    List<Map<String, Object>> docs = render("strimzi.yaml");
    assertThat(kinds(docs, "Job")).isEmpty();
    List<Map<String, Object>> topics = kinds(docs, "KafkaTopic");
    List<String> expected = new ArrayList<>();
    for (String t : TOPICS) {
      expected.add("team_a." + t);
      expected.add("team_a." + t + ".dlt");
    }
    assertThat(topics.stream().map(t -> map(t, "spec").get("topicName")))
        .containsExactlyInAnyOrderElementsOf(expected);
    for (Map<String, Object> t : topics) {
      assertThat(t.get("apiVersion")).isEqualTo("kafka.strimzi.io/v1beta2");
      assertThat(name(t)).matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?").hasSizeLessThanOrEqualTo(253);
      assertThat(map(t, "metadata")).containsEntry("namespace", "kafka");
      assertThat(map(t, "metadata", "labels")).containsEntry("strimzi.io/cluster", "ferret-kafka");
      assertThat(map(t, "spec")).containsEntry("partitions", 12).containsEntry("replicas", 3);
      assertThat(map(t, "spec", "config")).containsEntry("max.message.bytes", 16777216);
    }
    Map<String, Object> c = container(workload(docs, "Deployment", "tiler"));
    assertThat(env(c, "FERRET_TOPICS_PREFIX")).isEqualTo("team_a.");
    assertThat(env(c, "SPRING_KAFKA_SECURITY_PROTOCOL")).isEqualTo("SSL");
    assertThat(envNames(c)).doesNotContain("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG");
    assertThat(
            list(map(workload(docs, "Deployment", "tiler"), "spec", "template", "spec"), "volumes"))
        .anyMatch(
            v ->
                "kafka-ca".equals(v.get("name"))
                    && "ferret-kafka-ca".equals(map(v, "configMap").get("name")));
  }

  @Test
  void serviceMonitorsScrapeEveryComponentOnAnExposedPort() {
    List<Map<String, Object>> docs = render("servicemonitor.yaml");
    List<Map<String, Object>> monitors = kinds(docs, "ServiceMonitor");
    assertThat(monitors).hasSize(STAGES.size() + 1);
    for (Map<String, Object> sm : monitors) {
      assertThat(map(sm, "metadata", "labels")).containsEntry("release", "prometheus");
      Map<String, Object> endpoint = list(sm, "spec", "endpoints").get(0);
      assertThat(endpoint.get("interval")).isEqualTo("30s");
      Map<String, Object> selector = map(sm, "spec", "selector", "matchLabels");
      Map<String, Object> svc =
          kinds(docs, "Service").stream()
              .filter(s -> map(s, "metadata", "labels").entrySet().containsAll(selector.entrySet()))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no Service for ServiceMonitor " + name(sm)));
      assertThat(list(svc, "spec", "ports"))
          .anyMatch(p -> endpoint.get("port").equals(p.get("name")));
      String component = (String) selector.get("app.kubernetes.io/component");
      assertThat(endpoint.get("path"))
          .isEqualTo(component.equals("inference-server") ? "/metrics" : "/actuator/prometheus");
    }
    // the dashboard ConfigMap carries the very file compose provisions, for Grafana's sidecar
    Map<String, Object> dashboard =
        kinds(docs, "ConfigMap").stream()
            .filter(c -> map(c, "metadata", "labels").containsKey("grafana_dashboard"))
            .findFirst()
            .orElseThrow();
    assertThat(map(dashboard, "metadata", "annotations"))
        .containsEntry("grafana_folder", "Ferret Stream");
    try {
      assertThat(map(dashboard, "data").get("ferret-pipeline.json"))
          .isEqualTo(
              Files.readString(chart.resolve("dashboards/ferret-pipeline.json")).stripTrailing());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertThat(container(workload(docs, "Deployment", "gateway")).get("image"))
        .isEqualTo("registry.example.com/mirror/ferretstream/gateway:0.1.0");
    assertThat(container(workload(docs, "Deployment", "tiler")).get("image"))
        .isEqualTo(
            "registry.example.com/mirror/ferretstream/tiler@sha256:0000000000000000000000000000000000000000000000000000000000000001");
    assertThat(
            list(
                map(workload(docs, "Deployment", "fusion"), "spec", "template", "spec"),
                "imagePullSecrets"))
        .containsExactly(Map.of("name", "mirror-pull"));
    Map<String, Object> ingress = kinds(docs, "Ingress").get(0);
    assertThat(
            map(
                list(map(list(ingress, "spec", "rules").get(0), "http"), "paths").get(0),
                "backend",
                "service"))
        .containsEntry("name", FULLNAME + "-gateway");
  }

  // ------------------------------------------------------------------------------------------
  // values the chart must refuse
  // ------------------------------------------------------------------------------------------

  @ParameterizedTest(name = "--set {0}={1} is refused")
  @CsvSource(
      delimiter = '|',
      value = {
        "gateway.replicas | -1 | /gateway/replicas",
        "tiler.replicaz | 2 | additional properties 'replicaz'",
        "encoderLocal.autoscaling.minReplicas | 0 | /encoderLocal/autoscaling/minReplicas",
        "gateway.image.tag | latest | /gateway/image/tag",
        "kafka.securityProtocol | SASL_SCRAM | /kafka/securityProtocol",
        "kafka.sasl.mechanism | GSSAPI | /kafka/sasl/mechanism",
        "topics.partitions | 0 | /topics/partitions",
        "tiler.autoscaling.lagThreshold | 0 | /tiler/autoscaling/lagThreshold",
        "topics.prefix | bad prefix! | /topics/prefix",
        "topics.provisioning | manual | /topics/provisioning",
        "topics.bulkRetention | 5 minutes | /topics/bulkRetention",
        "topics.deadLetterRetentionSize | lots | /topics/deadLetterRetentionSize",
        "inference.backend | onnx | /inference/backend",
        "triton.gpu.count | 0 | /triton/gpu/count",
        "triton.modelRepository.uri | http://models | /triton/modelRepository/uri",
        "gateway.replicas | 12 | must be below topics.partitions",
        "inference.backend | triton | needs a model repository",
        "inference.backend | external | inference.externalTarget",
        "topics.provisioning | strimzi | needs a Strimzi cluster",
        "kafka.bundled.enabled | false | kafka.bootstrapServers is required",
      })
  void invalidValuesAreRefused(String key, String value, String message) {
    assertThatThrownBy(() -> template(List.of(), Map.of(key, value))).hasMessageContaining(message);
  }

  @Test
  void saslWithoutSecretIsRefused() {
    Map<String, Object> sets = new LinkedHashMap<>();
    sets.put("kafka.bundled.enabled", "false");
    sets.put("kafka.bootstrapServers", "kafka:9093");
    sets.put("kafka.securityProtocol", "SASL_SSL");
    assertThatThrownBy(() -> template(List.of(), sets))
        .hasMessageContaining("needs kafka.sasl.existingSecret");
  }

  @Test
  void gatewayAutoscalingBeyondAnswersPartitionsIsRefused() {
    Map<String, Object> sets = new LinkedHashMap<>();
    sets.put("autoscaling.enabled", "true");
    // equal is too many: a rolling update's extra pod needs a reply partition of its own
    sets.put("gateway.autoscaling.maxReplicas", "12");
    assertThatThrownBy(() -> template(List.of(), sets))
        .hasMessageContaining(
            "gateway.autoscaling.maxReplicas (12) must be below topics.partitions (12)");
    sets.put("topics.partitions", "16");
    assertThat(parse(template(List.of(), sets))).isNotEmpty();
  }

  // ------------------------------------------------------------------------------------------
  // rendering and helpers
  // ------------------------------------------------------------------------------------------

  private static List<Map<String, Object>> render(String scenario) {
    return rendered.computeIfAbsent(
        scenario,
        s -> {
          String yaml = template(List.of(chart.resolve("ci").resolve(s)), Map.of());
          try {
            Files.writeString(renderDir.resolve(s), yaml);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return parse(yaml);
        });
  }

  private static String template(List<Path> valuesFiles, Map<String, Object> sets) {
    TemplateCommand command =
        new Helm(chart)
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION);
    for (Path file : valuesFiles) {
      command = command.withValuesFile(file);
    }
    for (Map.Entry<String, Object> set : sets.entrySet()) {
      command = command.set(set.getKey(), set.getValue());
    }
    return command.call();
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> parse(String yaml) {
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(yaml)) {
      if (doc != null) {
        docs.add((Map<String, Object>) doc);
      }
    }
    return docs;
  }

  private static List<Map<String, Object>> kinds(List<Map<String, Object>> docs, String... kinds) {
    Set<String> wanted = Set.of(kinds);
    return docs.stream().filter(d -> wanted.contains(d.get("kind"))).toList();
  }

  private static List<Map<String, Object>> find(
      List<Map<String, Object>> docs, String kind, String name) {
    return kinds(docs, kind).stream().filter(d -> name.equals(name(d))).toList();
  }

  private static Map<String, Object> workloadByName(
      List<Map<String, Object>> docs, String kind, String name) {
    List<Map<String, Object>> found = find(docs, kind, name);
    assertThat(found).as("%s %s", kind, name).hasSize(1);
    return found.get(0);
  }

  private static Map<String, Object> workload(
      List<Map<String, Object>> docs, String kind, String component) {
    return workloadByName(docs, kind, FULLNAME + "-" + component);
  }

  private static String name(Map<String, Object> doc) {
    return (String) map(doc, "metadata").get("name");
  }

  private static Map<String, Object> container(Map<String, Object> workload) {
    return list(map(workload, "spec", "template", "spec"), "containers").get(0);
  }

  /** Every container that talks to Kafka (the services and the topic Job). */
  private static List<Map<String, Object>> kafkaClients(List<Map<String, Object>> docs) {
    return kinds(docs, "Deployment", "Job").stream()
        .flatMap(w -> list(map(w, "spec", "template", "spec"), "containers").stream())
        .filter(c -> envNames(c).contains("SPRING_KAFKA_BOOTSTRAP_SERVERS"))
        .toList();
  }

  /** The shared Kafka client part of a container's environment, by name. */
  private static Map<String, Object> kafkaEnv(Map<String, Object> container) {
    Map<String, Object> env = new TreeMap<>();
    for (Map<String, Object> e : list(container, "env")) {
      String n = (String) e.get("name");
      if (n.startsWith("SPRING_KAFKA_")
          || n.startsWith("FERRET_TOPICS_") && !n.equals("FERRET_TOPICS_WAIT")) {
        env.put(n, e.containsKey("value") ? e.get("value") : e.get("valueFrom"));
      }
    }
    return env;
  }

  private static List<String> envNames(Map<String, Object> container) {
    return list(container, "env").stream().map(e -> (String) e.get("name")).toList();
  }

  private static Map<String, Object> envVar(Map<String, Object> container, String name) {
    return list(container, "env").stream()
        .filter(e -> name.equals(e.get("name")))
        .findFirst()
        .orElseThrow(
            () ->
                new AssertionError(
                    "env " + name + " missing in container " + container.get("name")));
  }

  private static String env(Map<String, Object> container, String name) {
    Object value = envVar(container, name).get("value");
    assertThat(value).as("literal value of %s in %s", name, container.get("name")).isNotNull();
    return value.toString();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Map<String, Object> root, String... path) {
    Object node = root;
    for (String key : path) {
      node = node == null ? null : ((Map<String, Object>) node).get(key);
    }
    return node == null ? Map.of() : (Map<String, Object>) node;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(Map<String, Object> root, String... path) {
    return (List<Map<String, Object>>) (List<?>) values(root, path);
  }

  @SuppressWarnings("unchecked")
  private static List<Object> values(Map<String, Object> root, String... path) {
    Map<String, Object> parent = map(root, java.util.Arrays.copyOf(path, path.length - 1));
    Object node = parent.get(path[path.length - 1]);
    return node == null ? List.of() : (List<Object>) node;
  }

  private static Map<String, Object> loadMap(Path file) throws IOException {
    Object loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
    @SuppressWarnings("unchecked")
    Map<String, Object> map =
        loaded instanceof Map ? (Map<String, Object>) loaded : new LinkedHashMap<>();
    return map;
  }

  /** Helm's merge of a values file over the defaults: maps merge, everything else replaces. */
  @SuppressWarnings("unchecked")
  static void deepMerge(Map<String, Object> base, Map<String, Object> overrides) {
    for (Map.Entry<String, Object> e : overrides.entrySet()) {
      Object current = base.get(e.getKey());
      if (current instanceof Map && e.getValue() instanceof Map) {
        deepMerge((Map<String, Object>) current, (Map<String, Object>) e.getValue());
      } else {
        base.put(e.getKey(), e.getValue());
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private record ProcessResult(int exitCode, String output) {}

  private static ProcessResult exec(List<String> command, Path dir) throws IOException {
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("timed out: " + command);
      }
      return new ProcessResult(process.exitValue(), output);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /** Bytes of a Kubernetes memory quantity (512Mi, 2Gi, 1G, 1000000). */
  private static long bytes(Object quantity) {
    assertThat(quantity).as("a memory quantity").isNotNull();
    String q = quantity.toString();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+)([KMGT]i?)?").matcher(q);
    assertThat(m.matches()).as("memory quantity %s", q).isTrue();
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2);
    int power = unit.isEmpty() ? 0 : "KMGT".indexOf(unit.charAt(0)) + 1;
    long base = unit.endsWith("i") ? 1024 : 1000;
    for (int i = 0; i < power; i++) {
      n *= base;
    }
    return n;
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1];
  }
}

package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The top-level docker-compose.yml, validated by {@code docker-compose config} (Debian's compose
 * v1; no engine needed) and asserted on as compose resolves it: profiles, health-gated start-up,
 * overridable images, the GPU reservation, the non-default variables.
 */
class ComposeFileTest {

  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final List<String> PIPELINE =
      List.of("tiler", "encoder-global", "encoder-local", "fusion", "llm", "gateway");

  @Test
  void isValidAndVersionless() throws Exception {
    Result quiet = compose(Map.of(), "config", "-q");
    assertThat(quiet.exit).as(quiet.output).isZero();
    Map<String, Object> raw = new Yaml().load(Files.readString(REPO.resolve("docker-compose.yml")));
    assertThat(raw).doesNotContainKey("version");
  }

  @Test
  void cpuProfileServesTheDevModelsAsInferenceAndEveryStageWaitsForHealthyDependencies()
      throws Exception {
    Map<String, Map<String, Object>> services = services(Map.of());

    Map<String, Object> inference = services.get("inference-server");
    assertThat(list(inference, "profiles")).containsExactly("cpu");
    assertThat(aliases(inference)).contains("inference");
    assertThat(list(inference, "volumes").toString())
        .contains("inference-server/model-repository", "/models");
    assertThat(map(map(inference, "build"), "args")).containsKey("BASE_IMAGE");

    Map<String, Object> triton = services.get("triton");
    assertThat(list(triton, "profiles")).containsExactly("gpu");
    assertThat(aliases(triton)).contains("inference");
    Map<String, Object> device =
        (Map<String, Object>)
            list(map(map(map(triton, "deploy"), "resources"), "reservations"), "devices").get(0);
    assertThat(device).containsEntry("driver", "nvidia");
    assertThat(list(device, "capabilities")).containsExactly("gpu");
    assertThat(triton.get("image").toString()).startsWith("nvcr.io/nvidia/tritonserver:");
    assertThat(list(triton, "command")).contains("--model-repository=/models", "--grpc-port=8001");

    // every service of ours can be built, so `up --build` never tries to pull one of our images
    for (String name : List.of("topics", "inference-server")) {
      assertThat(map(services.get(name), "build")).as(name).containsKey("context");
    }
    for (String name : PIPELINE) {
      Map<String, Object> s = services.get(name);
      assertThat(s).as(name).isNotNull().doesNotContainKey("profiles");
      assertThat(map(s, "build")).as(name).containsKey("context");
      Map<String, Object> deps = map(s, "depends_on");
      assertThat(map(deps, "kafka")).as(name).containsEntry("condition", "service_healthy");
      assertThat(map(deps, "topics"))
          .as(name)
          .containsEntry("condition", "service_completed_successfully");
      Map<String, Object> env = map(s, "environment");
      assertThat(env).as(name).containsEntry("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");
      assertThat(s.get("image").toString()).as(name).startsWith("ferretstream/");
    }
    for (String stage : List.of("tiler", "encoder-global", "encoder-local", "fusion", "llm")) {
      assertThat(map(map(services.get("gateway"), "depends_on"), stage))
          .containsEntry("condition", "service_healthy");
    }
    for (String caller : List.of("encoder-global", "encoder-local", "fusion", "llm")) {
      assertThat(map(services.get(caller), "environment"))
          .containsEntry("FERRET_INFERENCE_TARGET", "inference:8001");
    }
    assertThat(map(services.get("encoder-global"), "environment"))
        .containsEntry("FERRET_ENCODER_ROLE", "global")
        .containsEntry("FERRET_ENCODER_GROUP_ID", "encoder-global");
    assertThat(map(services.get("encoder-local"), "environment"))
        .containsEntry("FERRET_ENCODER_ROLE", "local")
        .containsEntry("FERRET_ENCODER_GROUP_ID", "encoder-local");
    assertThat(list(services.get("gateway"), "ports").toString()).contains("127.0.0.1");

    Map<String, Object> kafka = services.get("kafka");
    assertThat(map(kafka, "environment"))
        .containsEntry("KAFKA_MESSAGE_MAX_BYTES", 17825792)
        .containsEntry("KAFKA_REPLICA_FETCH_MAX_BYTES", 17825792)
        .containsEntry("KAFKA_PROCESS_ROLES", "broker,controller");
    assertThat(map(kafka, "healthcheck")).containsKey("test");
    assertThat(list(services.get("topics"), "entrypoint"))
        .contains("ai.ferretstream.boot.kafka.TopicProvisioner");
    assertThat(list(services.get("prometheus"), "profiles")).containsExactly("monitoring");
    assertThat(list(services.get("grafana"), "profiles")).containsExactly("monitoring");
  }

  @Test
  void kafkaKeepsItsLogInAVolumeAndEveryKafkaClientDeclaresBoundedRetention() throws Exception {
    Map<String, Object> config = config(Map.of());
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> services =
        (Map<String, Map<String, Object>>) config.get("services");
    Map<String, Object> kafka = services.get("kafka");
    String logDirs = map(kafka, "environment").get("KAFKA_LOG_DIRS").toString();
    // a named volume, not the container's writable layer
    assertThat(list(kafka, "volumes").toString()).contains("kafka-data", logDirs);
    assertThat(map(config, "volumes")).containsKey("kafka-data");
    // expired segments go within half a minute, not Kafka's 5
    assertThat(map(kafka, "environment"))
        .containsEntry("KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS", 30000);
    // the topic provisioner and the services declare the same retention
    for (String name :
        List.of("topics", "tiler", "encoder-global", "encoder-local", "fusion", "llm", "gateway")) {
      assertThat(map(services.get(name), "environment"))
          .as(name)
          .containsEntry("FERRET_TOPICS_BULK_RETENTION", "5m")
          .containsEntry("FERRET_TOPICS_RETENTION", "1h")
          .containsEntry("FERRET_TOPICS_DEAD_LETTER_RETENTION", "24h")
          .containsEntry("FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE", "64MB");
    }
    Map<String, Map<String, Object>> longer =
        services(Map.of("FERRET_TOPICS_BULK_RETENTION", "15m"));
    assertThat(map(longer.get("topics"), "environment"))
        .containsEntry("FERRET_TOPICS_BULK_RETENTION", "15m");
  }

  @Test
  void everyContainerHasAMemoryLimitAndItsJvmIsSizedFromIt() throws Exception {
    Map<String, Map<String, Object>> services = services(Map.of());
    List<String> cpuProfile = new ArrayList<>(PIPELINE);
    cpuProfile.addAll(List.of("kafka", "topics", "inference-server"));
    for (String name : cpuProfile) {
      assertThat(services.get(name)).as(name).containsKey("mem_limit");
    }
    // the other profiles too
    for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
      assertThat(s.getValue()).as(s.getKey()).containsKey("mem_limit");
    }
    assertThat(services.get("kafka").get("mem_limit").toString()).isEqualTo("1536m");
    for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
      Object env = s.getValue().get("environment");
      Object options = env instanceof Map<?, ?> m ? m.get("JAVA_TOOL_OPTIONS") : null;
      if (options != null) {
        assertThat(options.toString())
            .as(s.getKey())
            .contains("-XX:MaxRAMPercentage=", "-XX:+ExitOnOutOfMemoryError");
      }
    }
    assertThat(map(services.get("tiler"), "environment")).containsKey("JAVA_TOOL_OPTIONS");
    // each limit is a variable
    Map<String, Map<String, Object>> bigger =
        services(Map.of("FERRET_LLM_MEMORY", "3g", "FERRET_INFERENCE_SERVER_MEMORY", "8g"));
    assertThat(bigger.get("llm").get("mem_limit").toString()).isEqualTo("3g");
    assertThat(bigger.get("inference-server").get("mem_limit").toString()).isEqualTo("8g");
  }

  @Test
  void tritonChecksTheModelRepositoryBeforeItStarts() throws Exception {
    Map<String, Object> triton = services(Map.of()).get("triton");
    List<Object> command = list(triton, "command");
    assertThat(command.subList(0, 5))
        .containsExactly(
            "/bin/sh", "/opt/ferret/check-model-repository.sh", "/models", "--", "tritonserver");
    assertThat(list(triton, "volumes").toString())
        .contains("triton/check-model-repository.sh:/opt/ferret/check-model-repository.sh");
  }

  @Test
  void imagesAndPortsFollowTheVariables() throws Exception {
    Map<String, Map<String, Object>> services =
        services(
            Map.of(
                "FERRET_IMAGE_PREFIX", "registry.example.com/ml/",
                "FERRET_IMAGE_TAG", "1.2.3",
                "FERRET_KAFKA_IMAGE", "example/kafka:9",
                "FERRET_TRITON_IMAGE", "nvcr.io/nvidia/tritonserver:24.12-py3",
                "FERRET_GATEWAY_PORT", "18080",
                "FERRET_BASE_IMAGE", "example/jre:17"));
    for (String name : PIPELINE) {
      assertThat(services.get(name).get("image").toString())
          .as(name)
          .startsWith("registry.example.com/ml/")
          .endsWith(":1.2.3");
    }
    assertThat(services.get("topics").get("image"))
        .isEqualTo("registry.example.com/ml/gateway:1.2.3");
    assertThat(services.get("kafka").get("image")).isEqualTo("example/kafka:9");
    assertThat(services.get("triton").get("image"))
        .isEqualTo("nvcr.io/nvidia/tritonserver:24.12-py3");
    assertThat(list(services.get("gateway"), "ports").toString()).contains("18080");
    assertThat(map(map(services.get("tiler"), "build"), "args"))
        .containsEntry("BASE_IMAGE", "example/jre:17");
  }

  @Test
  void prometheusScrapesEveryServiceAndTheDashboardIsProvisioned() throws IOException {
    Map<String, Object> prometheus =
        new Yaml().load(Files.readString(REPO.resolve("monitoring/prometheus.yml")));
    List<String> targets = new ArrayList<>();
    for (Object job : (List<?>) prometheus.get("scrape_configs")) {
      for (Object sc : (List<?>) ((Map<?, ?>) job).get("static_configs")) {
        for (Object t : (List<?>) ((Map<?, ?>) sc).get("targets")) {
          targets.add(t.toString());
        }
      }
    }
    assertThat(targets)
        .containsExactlyInAnyOrder(
            "gateway:8080",
            "tiler:8081",
            "encoder-global:8082",
            "encoder-local:8082",
            "fusion:8084",
            "llm:8085",
            "inference:8002");
    assertThat(REPO.resolve("helm/dashboards/ferret-pipeline.json")).isRegularFile();
    assertThat(
            Files.readString(
                REPO.resolve("monitoring/grafana/provisioning/datasources/prometheus.yml")))
        .contains("uid: ferret-prometheus");
  }

  // ------------------------------------------------------------------------------------------

  record Result(int exit, String output) {}

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> services(Map<String, String> env)
      throws Exception {
    return (Map<String, Map<String, Object>>) config(env).get("services");
  }

  private static Map<String, Object> config(Map<String, String> env) throws Exception {
    Result r = compose(env, "config");
    assertThat(r.exit).as(r.output).isZero();
    return new Yaml().load(r.output);
  }

  private static Result compose(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add("docker-compose");
    command.add("-f");
    command.add(REPO.resolve("docker-compose.yml").toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(REPO.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("FERRET_") || k.startsWith("COMPOSE_"));
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError(
          "docker-compose (Debian's v1) is needed: apt-get install docker-compose", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Result(p.exitValue(), out);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Map<String, Object> m, String key) {
    Object v = m.get(key);
    assertThat(v).as(key).isInstanceOf(Map.class);
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> m, String key) {
    Object v = m.get(key);
    assertThat(v).as(key).isInstanceOf(List.class);
    return (List<Object>) v;
  }

  private static List<Object> aliases(Map<String, Object> service) {
    return list(map(map(service, "networks"), "default"), "aliases");
  }
}

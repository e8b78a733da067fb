package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.DockerComposeContainer;

/**
 * The container smoke test: builds every image on this machine (a jlink'ed JRE base, a Kafka broker
 * from Maven jars, the five services and the inference server), starts the top-level
 * docker-compose.yml with its {@code cpu} profile through Testcontainers, asks questions through
 * the gateway container and checks the streamed answers, then tears everything down. Nothing is
 * pulled: no registry is reachable here, which is why the base and Kafka images are built locally
 * and passed in through the compose file's image variables.
 *
 * <p>Needs a Docker engine and Debian's docker-compose (v1); {@code .ci/run} installs and starts
 * them. Container logs go to {@code deploy/target/compose-logs/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ComposeSmokeIT {

  private static final Logger log = LoggerFactory.getLogger(ComposeSmokeIT.class);

  /** The Spring Boot services and the port each serves /actuator/prometheus on. */
  static final Map<String, String> METRICS_URLS =
      Map.of(
          "gateway", "http://127.0.0.1:8080/actuator/prometheus",
          "tiler", "http://127.0.0.1:8081/actuator/prometheus",
          "encoder-global", "http://127.0.0.1:8082/actuator/prometheus",
          "encoder-local", "http://127.0.0.1:8082/actuator/prometheus",
          "fusion", "http://127.0.0.1:8084/actuator/prometheus",
          "llm", "http://127.0.0.1:8085/actuator/prometheus",
          "inference-server", "http://127.0.0.1:8002/metrics");

  private final ComposeStack stack = new ComposeStack("ferretsmoke", "compose-logs");
  private final ObjectMapper json = stack.json;
  private final HttpClient http = stack.http;
  private final Path repo = stack.repo;
  private final Path logs = stack.logs;
  private final Map<String, Long> timings = stack.timings;
  private DockerComposeContainer<?> compose;

  @BeforeAll
  void buildImagesAndStartTheCpuProfile() throws Exception {
    stack.start(Map.of());
    compose = stack.compose();
  }

  @AfterAll
  void tearDown() throws IOException {
    stack.stop("compose-smoke-timings.txt");
  }

  @Test
  @Order(1)
  void everyServiceOfTheCpuProfileRunsAndNoneOfTheOthers() {
    for (String service : ComposeStack.SERVICES) {
      if (service.equals("topics")) {
        continue; // ran to completion: compose only started the stages after it exited 0
      }
      ContainerState c = container(service);
      assertThat(c.isRunning()).as("%s is running", service).isTrue();
    }
    assertThat(compose.getContainerByServiceName("triton_1")).as("gpu profile").isEmpty();
    assertThat(compose.getContainerByServiceName("prometheus_1")).as("monitoring").isEmpty();
    // the images run as the non-root user
    assertThat(container("gateway").getContainerInfo().getConfig().getUser())
        .isEqualTo("10001:10001");
  }

  @Test
  @Order(2)
  void streamsAGroundedAnswerThroughTheGatewayContainer() throws Exception {
    // 1920x1080 picks the 3x2 grid: six local tiles through encoder-local, one global view
    ObjectNode body = chatRequest("Where is the red object?", true);
    long start = System.nanoTime();
    HttpResponse<Stream<String>> response =
        http.send(chat(body), HttpResponse.BodyHandlers.ofLines());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream");

    StringBuilder text = new StringBuilder();
    List<JsonNode> boxes = new ArrayList<>();
    List<String> events = new ArrayList<>();
    try (Stream<String> lines = response.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (line.isEmpty()) {
          continue;
        }
        events.add(line);
        String data = line.substring("data: ".length());
        if (data.equals("[DONE]")) {
          break;
        }
        JsonNode chunk = json.readTree(data);
        assertThat(chunk.has("error")).as("error event: %s", data).isFalse();
        JsonNode delta = chunk.at("/choices/0/delta");
        if (delta.hasNonNull("content")) {
          text.append(delta.get("content").asText());
        }
        delta.path("boxes").forEach(boxes::add);
      }
    }
    timings.put("streamed answer", elapsed(start));
    log.info("answer through the containers: {} boxes {}", text, boxes);

    assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
    assertThat(text.toString().toLowerCase(Locale.ROOT)).contains("red");
    assertThat(boxes).as("grounded boxes in %s", text).isNotEmpty();
    // the red rectangle is [192, 162) x [768, 540) of the 1920x1080 image: within one feature cell
    // of the 3x2 grid (1920 / 72 = 26.7 px, 1080 / 48 = 22.5 px) plus one step of the 0..999 grid
    JsonNode px = boxes.get(0).get("box_pixels");
    assertThat(px.get(0).asDouble()).isCloseTo(192, org.assertj.core.data.Offset.offset(29.0));
    assertThat(px.get(1).asDouble()).isCloseTo(162, org.assertj.core.data.Offset.offset(24.0));
    assertThat(px.get(2).asDouble()).isCloseTo(767, org.assertj.core.data.Offset.offset(29.0));
    assertThat(px.get(3).asDouble()).isCloseTo(539, org.assertj.core.data.Offset.offset(24.0));
  }

  @Test
  @Order(3)
  void namesTheColourOfAReferredRegionAndRefusesABadImage() throws Exception {
    // the blue rectangle [1152, 594) x [1632, 972) in Ferret's 0..999 grid
    ObjectNode body = chatRequest("What is in [600, 550, 849, 899] <region_fea>?", false);
    body.put("stream", false);
    HttpResponse<String> answer = http.send(chat(body), HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(
            json.readTree(answer.body())
                .at("/choices/0/message/content")
                .asText()
                .toLowerCase(Locale.ROOT))
        .contains("blue");

    ObjectNode bad = chatRequest("What is this?", false);
    bad.put("stream", false);
    ((ObjectNode) bad.at("/messages/0/content/1/image_url"))
        .put("url", "data:image/png;base64," + Base64.getEncoder().encodeToString(new byte[64]));
    HttpResponse<String> refused = http.send(chat(bad), HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
    assertThat(json.readTree(refused.body()).at("/error/code").asText()).isEqualTo("invalid_image");
  }

  /**
   * The images start the JVM with the Vector API module: the tiler and fusion run their SIMD
   * kernels (the speed-ups measured in docs/bench need them), not the scalar fallbacks.
   */
  @Test
  @Order(4)
  void theServicesRunTheirVectorApiKernels() throws Exception {
    assertThat(Files.readString(logs.resolve("tiler.log")))
        .containsPattern("tiling with vector-\\d+ resampling kernels");
    assertThat(Files.readString(logs.resolve("fusion.log")))
        .containsPattern("fusion computes H_a with vector-\\d+ kernels");
  }

  /**
   * Every metric the provisioned Grafana dashboard plots is one the running containers export, so
   * the dashboard cannot silently drift from the code.
   */
  @Test
  @Order(5)
  void theGrafanaDashboardOnlyPlotsMetricsTheContainersExport() throws Exception {
    Set<String> exported = new TreeSet<>();
    for (Map.Entry<String, String> e : METRICS_URLS.entrySet()) {
      var result = container(e.getKey()).execInContainer("wget", "-q", "-O", "-", e.getValue());
      assertThat(result.getExitCode())
          .as("%s metrics: %s", e.getKey(), result.getStderr())
          .isZero();
      for (String line : result.getStdout().split("\n")) {
        if (!line.isEmpty() && !line.startsWith("#")) {
          exported.add(line.split("[{ ]", 2)[0]);
        }
      }
    }
    String dashboard = Files.readString(repo.resolve("helm/dashboards/ferret-pipeline.json"));
    Set<String> plotted = new TreeSet<>();
    Matcher m = Pattern.compile("\\b((?:ferret|nv|kafka)_[a-z0-9_]+)\\b").matcher(dashboard);
    while (m.find()) {
      plotted.add(m.group(1));
    }
    assertThat(plotted).hasSizeGreaterThan(15);
    assertThat(exported).containsAll(plotted);
  }

  // ------------------------------------------------------------------------------------------

  private ContainerState container(String service) {
    return stack.container(service);
  }

  private ObjectNode chatRequest(String question, boolean grounding) throws IOException {
    return stack.chatRequest(question, grounding);
  }

  private HttpRequest chat(ObjectNode body) throws IOException {
    return stack.chat(body, Duration.ofMinutes(2));
  }

  private static long elapsed(long startNanos) {
    return ComposeStack.elapsed(startNanos);
  }
}

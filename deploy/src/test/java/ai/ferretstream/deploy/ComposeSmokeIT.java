package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.DockerComposeContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.images.builder.ImageFromDockerfile;

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

  static final String TAG = "ci";
  static final String BASE_IMAGE = "ferretstream/jre:17-ci";
  static final String KAFKA_IMAGE = "ferretstream/kafka-local:ci";
  static final List<String> SERVICES =
      List.of(
          "kafka",
          "topics",
          "inference-server",
          "tiler",
          "encoder-global",
          "encoder-local",
          "fusion",
          "llm",
          "gateway");

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

  private final Path repo = Path.of("..").toAbsolutePath().normalize();
  private final Path logs = Path.of("target", "compose-logs").toAbsolutePath();
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  // written from one log-following thread per service
  private final Map<String, Writer> logWriters = new ConcurrentHashMap<>();

  private DockerComposeContainer<?> compose;
  private String gateway;
  private final Map<String, Long> timings = new LinkedHashMap<>();

  @BeforeAll
  void buildImagesAndStartTheCpuProfile() throws Exception {
    assertThat(DockerClientFactory.instance().isDockerAvailable())
        .as(
            "a Docker engine is needed (.ci/run installs docker.io and starts dockerd --ip"
                + " 127.0.0.1)")
        .isTrue();
    assertThat(repo.resolve("docker-compose.yml")).exists();
    Files.createDirectories(logs);
    Files.deleteIfExists(logs.resolve("image-build.log"));

    long t0 = System.nanoTime();
    run(List.of(repo.resolve("docker/base/build-base-image.sh").toString(), BASE_IMAGE));
    timings.put("base image", elapsed(t0));

    long t1 = System.nanoTime();
    Path kafkaContext = repo.resolve("docker/kafka-local");
    assertThat(kafkaContext.resolve("target/libs"))
        .as("the Kafka class path (./mvnw package writes it)")
        .isDirectory();
    new ImageFromDockerfile(KAFKA_IMAGE, false)
        .withFileFromPath(".", kafkaContext)
        .withBuildArg("BASE_IMAGE", BASE_IMAGE)
        .get(5, TimeUnit.MINUTES);
    timings.put("kafka image", elapsed(t1));

    int gatewayPort = freePort();
    int kafkaPort = freePort();
    Map<String, String> env = new HashMap<>();
    env.put("COMPOSE_PROFILES", "cpu");
    env.put("FERRET_BASE_IMAGE", BASE_IMAGE);
    env.put("FERRET_KAFKA_IMAGE", KAFKA_IMAGE);
    env.put("FERRET_IMAGE_TAG", TAG);
    env.put("FERRET_GATEWAY_PORT", Integer.toString(gatewayPort));
    env.put("FERRET_KAFKA_PORT", Integer.toString(kafkaPort));
    env.put("FERRET_BIND_ADDRESS", "127.0.0.1");
    // the legacy builder: docker-compose v1 builds through the engine API
    env.put("DOCKER_BUILDKIT", "0");
    env.put("COMPOSE_DOCKER_CLI_BUILD", "0");

    compose =
        new DockerComposeContainer<>("ferretsmoke", repo.resolve("docker-compose.yml").toFile())
            .withEnv(env)
            .withBuild(true)
            .withPull(false)
            .withRemoveVolumes(true)
            .withStartupTimeout(Duration.ofMinutes(8));
    for (String service : SERVICES) {
      compose.withLogConsumer(service, frame -> logTo(service, frame));
    }
    long t2 = System.nanoTime();
    // `up -d` returns once every stage is healthy (the gateway depends on them being healthy) and
    // the gateway is started; then the gateway's own readiness is awaited through its published
    // port
    compose.start();
    timings.put("compose build + up", elapsed(t2));
    gateway = "http://127.0.0.1:" + gatewayPort;
    long t3 = System.nanoTime();
    awaitReady(gateway + "/actuator/health/readiness", Duration.ofMinutes(3));
    timings.put("gateway ready", elapsed(t3));
    log.info("compose stack up: {}", timings);
  }

  @AfterAll
  void tearDown() throws IOException {
    try {
      if (compose != null) {
        long t = System.nanoTime();
        compose.stop();
        timings.put("compose down", elapsed(t));
      }
    } finally {
      for (Writer w : logWriters.values()) {
        w.close();
      }
      Files.writeString(
          Path.of("target", "compose-smoke-timings.txt"),
          timings.entrySet().stream()
                  .map(
                      e ->
                          String.format(
                              Locale.ROOT, "%-32s %7.1f s", e.getKey(), e.getValue() / 1000.0))
                  .reduce((a, b) -> a + "\n" + b)
                  .orElse("")
              + "\n");
      log.info("compose smoke timings: {}", timings);
    }
  }

  @Test
  @Order(1)
  void everyServiceOfTheCpuProfileRunsAndNoneOfTheOthers() {
    for (String service : SERVICES) {
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
    return compose
        .getContainerByServiceName(service + "_1")
        .orElseThrow(() -> new AssertionError("no container for service " + service));
  }

  private void awaitReady(String url, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
        last = r.statusCode() + " " + r.body();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(500);
    }
    throw new AssertionError(url + " not ready after " + timeout + ": " + last);
  }

  private ObjectNode chatRequest(String question, boolean grounding) throws IOException {
    ObjectNode root = json.createObjectNode();
    root.put("model", "ferret-v2-dev");
    ObjectNode message = root.putArray("messages").addObject();
    message.put("role", "user");
    var content = message.putArray("content");
    content.addObject().put("type", "text").put("text", question);
    content
        .addObject()
        .put("type", "image_url")
        .putObject("image_url")
        .put("url", "data:image/png;base64," + Base64.getEncoder().encodeToString(image()));
    root.put("stream", true);
    root.put("grounding", grounding);
    root.put("max_tokens", 128);
    return root;
  }

  private HttpRequest chat(ObjectNode body) throws IOException {
    return HttpRequest.newBuilder(URI.create(gateway + "/v1/chat/completions"))
        .timeout(Duration.ofMinutes(2))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)))
        .build();
  }

  /** 1920x1080, white, red rectangle [192,768) x [162,540), blue [1152,1632) x [594,972). */
  static byte[] image() throws IOException {
    BufferedImage image = new BufferedImage(1920, 1080, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 1920, 1080);
    g.setColor(Color.RED);
    g.fillRect(192, 162, 768 - 192, 540 - 162);
    g.setColor(Color.BLUE);
    g.fillRect(1152, 594, 1632 - 1152, 972 - 594);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  private void logTo(String service, OutputFrame frame) {
    try {
      Writer w =
          logWriters.computeIfAbsent(
              service,
              s -> {
                try {
                  return Files.newBufferedWriter(logs.resolve(s + ".log"), StandardCharsets.UTF_8);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      synchronized (w) {
        w.write(frame.getUtf8String());
        w.flush();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void run(List<String> command) throws IOException, InterruptedException {
    Path log = logs.resolve("image-build.log");
    ProcessBuilder pb = new ProcessBuilder(command).directory(repo.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Process p = pb.start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("%s finished", command).isTrue();
    if (p.exitValue() != 0) {
      // the CI report shows only the assertion message, so it carries the end of the output
      // decoded leniently: a stray non-UTF-8 byte in the log must not hide the failure itself
      List<String> lines =
          new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
      String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      assertThat(p.exitValue()).as("%s exited; last lines of %s:%n%s", command, log, tail).isZero();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static long elapsed(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}

package ai.ferretstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.DockerComposeContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * The top-level docker-compose.yml with its {@code cpu} profile, built and started on this machine
 * for a container test: builds every image locally (a jlink'ed JRE base, a Kafka broker from Maven
 * jars, the five services and the inference server; nothing is pulled, no registry is reachable
 * here), starts the stack through Testcontainers under its own project name, follows every
 * container's log into {@code deploy/target/<logs>/}, and waits for the gateway's readiness.
 */
final class ComposeStack implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ComposeStack.class);

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

  final Path repo = Path.of("..").toAbsolutePath().normalize();
  final Path logs;
  final ObjectMapper json = new ObjectMapper();
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  final Map<String, Long> timings = new LinkedHashMap<>();
  // written from one log-following thread per service
  private final Map<String, Writer> logWriters = new ConcurrentHashMap<>();
  private final String project;
  private DockerComposeContainer<?> compose;
  private String gateway;
  private int gatewayPort;

  /**
   * @param project the compose project name (container names start with it)
   * @param logsDirectory under {@code deploy/target/}, one log file per service
   */
  ComposeStack(String project, String logsDirectory) {
    this.project = project;
    this.logs = Path.of("target", logsDirectory).toAbsolutePath();
  }

  /** Builds the images and starts the {@code cpu} profile with {@code env} on top of ours. */
  ComposeStack start(Map<String, String> extraEnv) throws Exception {
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

    gatewayPort = freePort();
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
    env.putAll(extraEnv);

    compose =
        new DockerComposeContainer<>(project, repo.resolve("docker-compose.yml").toFile())
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
    log.info("compose stack {} up: {}", project, timings);
    return this;
  }

  /** Stops the stack, closes the logs and writes the timings to {@code target/<file>}. */
  void stop(String timingsFile) throws IOException {
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
          Path.of("target", timingsFile),
          timings.entrySet().stream()
                  .map(
                      e ->
                          String.format(
                              Locale.ROOT, "%-32s %7.1f s", e.getKey(), e.getValue() / 1000.0))
                  .reduce((a, b) -> a + "\n" + b)
                  .orElse("")
              + "\n");
      log.info("compose {} timings: {}", project, timings);
    }
  }

  @Override
  public void close() throws IOException {
    stop(project + "-timings.txt");
  }

  String gateway() {
    return gateway;
  }

  int gatewayPort() {
    return gatewayPort;
  }

  DockerComposeContainer<?> compose() {
    return compose;
  }

  ContainerState container(String service) {
    return compose
        .getContainerByServiceName(service + "_1")
        .orElseThrow(() -> new AssertionError("no container for service " + service));
  }

  void awaitReady(String url, Duration timeout) throws InterruptedException {
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

  /** A chat completion request about {@link #image()} (streamed; max 128 tokens). */
  ObjectNode chatRequest(String question, boolean grounding) throws IOException {
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

  HttpRequest chat(ObjectNode body, Duration timeout) throws IOException {
    return HttpRequest.newBuilder(URI.create(gateway + "/v1/chat/completions"))
        .timeout(timeout)
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

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static long elapsed(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}

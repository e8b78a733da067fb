package ai.ferretstream.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.TextDelta;
import ai.ferretstream.testsupport.EmbeddedBrokers;
import ai.ferretstream.testsupport.TestImages;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's HTTP edge against clients that misbehave: bodies that stall after the headers, and
 * clients that go away mid-body or mid-answer. A real Tomcat with few request threads, so that a
 * stalled body holding a thread would starve everybody else.
 */
@SpringBootTest(
    classes = GatewayApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "spring.config.name=gateway-service",
      "ferret.gateway.instance-id=gateway-slow-it",
      "spring.main.banner-mode=off",
      "server.tomcat.threads.max=" + SlowClientsIT.THREADS,
      "server.tomcat.threads.min-spare=1",
      "ferret.gateway.body-read-timeout=" + SlowClientsIT.DEADLINE_SECONDS + "s"
    })
@EmbeddedKafka(
    partitions = 4,
    brokerPropertiesLocation = EmbeddedBrokers.LARGE_RECORDS,
    bootstrapServersProperty = "spring.kafka.bootstrap-servers")
class SlowClientsIT {

  static final int THREADS = 4;
  static final int DEADLINE_SECONDS = 6;
  private static final Duration DEADLINE = Duration.ofSeconds(DEADLINE_SECONDS);

  /** How long past the deadline a timed-out client may wait for its 408. */
  private static final Duration SLACK = Duration.ofSeconds(10);

  private static final String ABORTS = "ferret.gateway.client.aborts";

  /** Loggers of the gateway, Spring MVC and Tomcat (the broker's own logs are not under test). */
  private static final List<String> HTTP_SIDE =
      List.of(
          "ai.ferretstream",
          "org.springframework.web",
          "org.apache.catalina",
          "org.apache.coyote",
          "org.apache.tomcat");

  @LocalServerPort int port;

  @Autowired MeterRegistry meters;

  @Autowired EmbeddedKafkaBroker broker;

  private final JsonMapper json = JsonMapper.shared();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final List<Socket> sockets = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  @BeforeEach
  void ready() {
    await("gateway readiness")
        .atMost(Duration.ofSeconds(60))
        .until(() -> get("/actuator/health/readiness", Duration.ofSeconds(10)) == 200);
    logs.start();
    root.addAppender(logs);
  }

  @AfterEach
  void close() throws IOException {
    root.detachAppender(logs);
    for (Socket s : sockets) {
      s.close();
    }
  }

  @Test
  void answersHealthAndValidRequestsWhileStalledBodiesAreHeldThenTimesThemOutWith408()
      throws Exception {
    // twice as many stalled bodies as request threads: headers and a few bytes, then nothing
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < 2 * THREADS; i++) {
      String path = i % 2 == 0 ? "/v1/chat/completions" : "/v1/ferret/ask";
      stalled.add(stallingBody(path, "application/json", 10_000, "{\"model\":"));
    }
    stalled.add(
        stallingBody(
            "/v1/ferret/ask",
            "multipart/form-data; boundary=XyZ",
            10_000,
            "--XyZ\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{"));

    assertThat(get("/actuator/health", DEADLINE)).as("health while bodies stall").isEqualTo(200);
    HttpResponse<InputStream> valid =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .timeout(DEADLINE)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chatBody("What is it?", true)))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    valid.body().close();
    assertThat(valid.statusCode()).as("a valid request while bodies stall").isEqualTo(200);

    for (Socket s : stalled) {
      Response response = readResponse(s);
      assertThat(response.status()).as(response.raw()).isEqualTo(408);
      JsonNode error = json.readTree(response.body()).get("error");
      assertThat(error).as(response.raw()).isNotNull();
      assertThat(error.get("type").stringValue()).isEqualTo("invalid_request_error");
      assertThat(error.get("code").stringValue()).isEqualTo("request_timeout");
      assertThat(error.get("message").stringValue())
          .contains("did not arrive within " + DEADLINE_SECONDS + "s");
      assertThat(response.closed()).as("the connection is closed after a 408").isTrue();
    }
    assertThat(stackTraces()).isEmpty();
  }

  @Test
  void countsAClientThatGoesAwayMidBodyWithoutAnErrorLog() throws Exception {
    double before = aborts("read");
    Socket s = stallingBody("/v1/chat/completions", "application/json", 10_000, "{\"model\":");
    // the gateway is reading the body when the client goes away
    await().pollDelay(Duration.ofMillis(200)).until(() -> true);
    s.setSoLinger(true, 0); // a reset, as a killed client leaves
    s.close();

    await("the read abort counted")
        .atMost(DEADLINE.plus(SLACK))
        .until(() -> aborts("read") > before);
    assertThat(stackTraces()).isEmpty();
  }

  @Test
  void countsAStreamingClientThatGoesAwayMidAnswerWithoutAnErrorLog() throws Exception {
    double before = aborts("write");
    byte[] body = chatBody("Describe it.", true).getBytes(StandardCharsets.UTF_8);
    Socket s = socket();
    OutputStream out = s.getOutputStream();
    out.write(
        ("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: "
                + body.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    String head = readUntil(s.getInputStream(), "chatcmpl-");
    assertThat(head).startsWith("HTTP/1.1 200");
    String id = "chatcmpl-" + new String(s.getInputStream().readNBytes(36), StandardCharsets.UTF_8);
    s.setSoLinger(true, 0);
    s.close();

    try (KafkaProducer<String, Object> producer = producer()) {
      long seq = 0;
      // each delta is one more write to the gone client; a write fails once the reset arrived
      while (aborts("write") <= before) {
        assertThat(seq).as("deltas sent before the write abort was counted").isLessThan(100);
        AnswerEvent delta =
            AnswerEvent.newBuilder()
                .setRequestId(id)
                .setSeq(seq++)
                .setDelta(TextDelta.newBuilder().setText("more "))
                .build();
        for (int p = 0; p < 4; p++) {
          producer
              .send(new ProducerRecord<>("ferret.answers", p, id, delta))
              .get(10, TimeUnit.SECONDS);
        }
        await().pollDelay(Duration.ofMillis(100)).until(() -> true);
      }
    }
    assertThat(stackTraces()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  private KafkaProducer<String, Object> producer() {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            broker.getBrokersAsString(),
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            KafkaLimits.MAX_RECORD_BYTES),
        new StringSerializer(),
        new ProtobufSerializer());
  }

  private double aborts(String phase) {
    return meters.find(ABORTS).tag("phase", phase).counters().stream()
        .mapToDouble(Counter::count)
        .sum();
  }

  /** Log events at ERROR, or with a stack trace, from the HTTP side of the gateway. */
  private List<String> stackTraces() {
    return logs.list.stream()
        .filter(e -> HTTP_SIDE.stream().anyMatch(e.getLoggerName()::startsWith))
        .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR) || e.getThrowableProxy() != null)
        .map(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage())
        .toList();
  }

  private int get(String path, Duration timeout) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(timeout)
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private Socket socket() throws IOException {
    Socket s = new Socket("localhost", port);
    s.setSoTimeout((int) DEADLINE.plus(SLACK).toMillis());
    sockets.add(s);
    return s;
  }

  /** Sends the headers and the first bytes of a body of {@code length} bytes, then stalls. */
  private Socket stallingBody(String path, String contentType, int length, String start)
      throws IOException {
    Socket s = socket();
    OutputStream out = s.getOutputStream();
    out.write(
        ("POST "
                + path
                + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                + contentType
                + "\r\nContent-Length: "
                + length
                + "\r\n\r\n"
                + start)
            .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return s;
  }

  private record Response(int status, String body, String raw, boolean closed) {}

  /** The whole response on {@code s}, read until the server closes the connection. */
  private static Response readResponse(Socket s) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    boolean closed;
    try {
      s.getInputStream().transferTo(bytes);
      closed = true;
    } catch (SocketTimeoutException e) {
      closed = false;
    }
    String raw = bytes.toString(StandardCharsets.UTF_8);
    int status = raw.startsWith("HTTP/1.1 ") ? Integer.parseInt(raw.substring(9, 12)) : -1;
    int bodyAt = raw.indexOf("\r\n\r\n");
    return new Response(status, bodyAt < 0 ? "" : raw.substring(bodyAt + 4), raw, closed);
  }

  private static String readUntil(InputStream in, String marker) throws IOException {
    StringBuilder text = new StringBuilder();
    while (!text.toString().endsWith(marker)) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      text.append((char) b);
    }
    return text.toString();
  }

  private static String chatBody(String question, boolean stream) {
    byte[] png = TestImages.png(TestImages.plain(64, 48, Color.WHITE));
    return "{\"model\":\"ferret-v2-dev\",\"stream\":"
        + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":["
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
        + Base64.getEncoder().encodeToString(png)
        + "\"}},{\"type\":\"text\",\"text\":\""
        + question
        + "\"}]}]}";
  }
}

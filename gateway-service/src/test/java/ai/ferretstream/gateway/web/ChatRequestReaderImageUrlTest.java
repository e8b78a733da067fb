package ai.ferretstream.gateway.web;

import static ai.ferretstream.gateway.web.TestRequests.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import ai.ferretstream.gateway.fetch.ImageServer;
import jakarta.validation.Validation;
import jakarta.validation.ValidatorFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.json.JsonMapper;

/** http(s) image URLs in chat requests: fetched from a server on 127.0.0.1, or refused. */
class ChatRequestReaderImageUrlTest {

  private static final String PARAM = "messages[0].content[1].image_url.url";
  private static final byte[] PNG = ImageServer.png();

  private final ImageServer server;

  ChatRequestReaderImageUrlTest() throws IOException {
    server = ImageServer.http();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static GatewayProperties properties(GatewayProperties.Fetch fetch) {
    GatewayProperties base = TestRequests.properties(16, 100_000, 6);
    return new GatewayProperties(
        base.modelName(),
        base.instanceId(),
        base.requestTimeout(),
        base.deadlineGrace(),
        base.expiryInterval(),
        base.sendTimeout(),
        base.maxInFlight(),
        base.defaultMaxTokens(),
        base.streamWriterThreads(),
        base.answers(),
        base.limits(),
        fetch,
        base.bodyReadTimeout());
  }

  private static ChatRequestReader reader(List<String> allowCidrs, Duration timeout) {
    GatewayProperties properties =
        properties(new GatewayProperties.Fetch(true, timeout, 3, List.of(), allowCidrs));
    return new ChatRequestReader(
        JsonMapper.shared(), properties, new ImageFetcher(properties.fetchSettings()));
  }

  private static ChatRequest read(ChatRequestReader reader, String json) {
    return reader.read(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void fetchesAnAllowedHttpImageUrl() {
    server.route("/cat.png", ImageServer.bytes(PNG, "image/png"));

    ChatRequest request =
        read(
            reader(List.of("127.0.0.1/32"), Duration.ofSeconds(5)),
            body("What colour is the square?", server.url("/cat.png"), "\"stream\":true"));

    assertThat(request.image().bytes()).isEqualTo(PNG);
    assertThat(request.image().mediaType()).isEqualTo("image/png");
    assertThat(request.prompt()).isEqualTo("What colour is the square?");
    assertThat(request.stream()).isTrue();
  }

  @Test
  void refusesLoopbackUrlsByDefault() {
    server.route("/cat.png", ImageServer.bytes(PNG, "image/png"));

    assertThatThrownBy(
            () ->
                read(
                    reader(List.of(), Duration.ofSeconds(5)),
                    body("q", server.url("/cat.png"), "")))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.INVALID);
              assertThat(e.code()).isEqualTo("invalid_image_url");
              assertThat(e.param()).isEqualTo(PARAM);
              assertThat(e.getMessage())
                  .contains("resolves to a loopback address 127.0.0.1, which is not allowed");
            });
    assertThat(server.seen()).isEmpty();
  }

  @Test
  void fetchesOnlyOnceTheRestOfTheRequestIsValid() {
    server.route("/cat.png", ImageServer.bytes(PNG, "image/png"));
    ChatRequestReader reader = reader(List.of("127.0.0.0/8"), Duration.ofSeconds(5));

    assertThatThrownBy(() -> read(reader, body("q", server.url("/cat.png"), "\"max_tokens\":0")))
        .isInstanceOfSatisfying(
            RequestRejected.class, e -> assertThat(e.param()).isEqualTo("max_tokens"));
    assertThatThrownBy(
            () ->
                read(
                    reader,
                    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                        + "\"image_url\":{\"url\":\""
                        + server.url("/cat.png")
                        + "\"}},{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                        + server.url("/cat.png")
                        + "\"}}]},{\"role\":\"user\",\"content\":\"q\"}]}"))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> assertThat(e.getMessage()).contains("exactly one image per conversation"));
    assertThat(server.seen()).isEmpty();
  }

  @Test
  void answersFetchFailuresAsBadGatewayAndTimeoutsAsGatewayTimeout() {
    server.route("/gone.png", ImageServer.status(404));
    CountDownLatch release = new CountDownLatch(1);
    server.route(
        "/slow.png",
        exchange -> {
          try {
            release.await(20, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    ChatRequestReader reader = reader(List.of("127.0.0.0/8"), Duration.ofMillis(400));

    try {
      assertThatThrownBy(() -> read(reader, body("q", server.url("/gone.png"), "")))
          .isInstanceOfSatisfying(
              ApiError.class,
              e -> {
                assertThat(e.status()).isEqualTo(502);
                assertThat(e.type()).isEqualTo("server_error");
                assertThat(e.code()).isEqualTo("image_fetch_failed");
                assertThat(e.param()).isEqualTo(PARAM);
                assertThat(e.getMessage()).contains("answered HTTP 404");
              });
      assertThatThrownBy(() -> read(reader, body("q", server.url("/slow.png"), "")))
          .isInstanceOfSatisfying(
              ApiError.class,
              e -> {
                assertThat(e.status()).isEqualTo(504);
                assertThat(e.code()).isEqualTo("image_fetch_failed");
                assertThat(e.getMessage()).contains("timeout");
              });
    } finally {
      release.countDown();
    }
  }

  @Test
  void refusesTooLargeFetchedImagesWithTheImageLimit() {
    server.route("/big.png", ImageServer.bytes(new byte[150_000], "image/png"));

    assertThatThrownBy(
            () ->
                read(
                    reader(List.of("127.0.0.0/8"), Duration.ofSeconds(5)),
                    body("q", server.url("/big.png"), "")))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.TOO_LARGE);
              assertThat(e.code()).isEqualTo("image_too_large");
            });
  }

  @Test
  void refusesOtherSchemesAsInvalidImageUrls() {
    assertThatThrownBy(
            () ->
                read(reader(List.of(), Duration.ofSeconds(5)), body("q", "file:///etc/passwd", "")))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_image_url");
              assertThat(e.getMessage())
                  .contains("data:image/...;base64,... URL or an http(s) URL");
            });
  }

  @Test
  void refusesHttpUrlsWhenFetchingIsOff() {
    ChatRequestReader off =
        new ChatRequestReader(JsonMapper.shared(), properties(GatewayProperties.Fetch.off()));

    assertThatThrownBy(() -> read(off, body("q", server.url("/cat.png"), "")))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo("unsupported_image_url");
              assertThat(e.param()).isEqualTo(PARAM);
              assertThat(e.getMessage()).contains("turned off");
            });
    assertThat(server.seen()).isEmpty();
  }

  @Test
  void theShippedConfigurationFetchesWithTheDefaults() throws IOException {
    List<PropertySource<?>> yaml =
        new YamlPropertySourceLoader()
            .load("gateway-service.yml", new ClassPathResource("gateway-service.yml"));
    GatewayProperties shipped =
        new Binder(ConfigurationPropertySources.from(yaml))
            .bindOrCreate("ferret.gateway", GatewayProperties.class);

    assertThat(shipped.fetch())
        .isEqualTo(
            new GatewayProperties.Fetch(true, Duration.ofSeconds(10), 3, List.of(), List.of()));
  }

  @Test
  void bindsAndValidatesTheFetchSettings() {
    GatewayProperties defaults =
        new Binder(new MapConfigurationPropertySource(Map.of()))
            .bindOrCreate("ferret.gateway", GatewayProperties.class);
    GatewayProperties set =
        new Binder(
                new MapConfigurationPropertySource(
                    Map.of(
                        "ferret.gateway.fetch.enabled", "false",
                        "ferret.gateway.fetch.timeout", "3s",
                        "ferret.gateway.fetch.max-redirects", "1",
                        "ferret.gateway.fetch.allow-hosts", "images.internal,cdn.internal",
                        "ferret.gateway.fetch.allow-cidrs[0]", "10.20.0.0/16")))
            .bindOrCreate("ferret.gateway", GatewayProperties.class);
    GatewayProperties bad =
        new Binder(
                new MapConfigurationPropertySource(
                    Map.of("ferret.gateway.fetch.allow-cidrs", "10.0.0.0/40")))
            .bindOrCreate("ferret.gateway", GatewayProperties.class);

    assertThat(defaults.fetch())
        .isEqualTo(
            new GatewayProperties.Fetch(true, Duration.ofSeconds(10), 3, List.of(), List.of()));
    assertThat(defaults.limits().maxImageBytes()).isEqualTo(DataSize.ofMegabytes(15));
    assertThat(set.fetch())
        .isEqualTo(
            new GatewayProperties.Fetch(
                false,
                Duration.ofSeconds(3),
                1,
                List.of("images.internal", "cdn.internal"),
                List.of("10.20.0.0/16")));
    try (ValidatorFactory factory = Validation.buildDefaultValidatorFactory()) {
      assertThat(factory.getValidator().validate(defaults)).isEmpty();
      assertThat(factory.getValidator().validate(set)).isEmpty();
      assertThat(factory.getValidator().validate(bad))
          .extracting(v -> v.getMessage())
          .containsExactly(
              "fetch.allow-cidrs must hold address ranges such as 10.0.0.0/8 or fd00::/8");
    }
  }
}

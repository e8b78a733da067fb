package ai.ferretstream.gateway.fetch;

import static ai.ferretstream.gateway.fetch.ImageServer.bytes;
import static ai.ferretstream.gateway.fetch.ImageServer.png;
import static ai.ferretstream.gateway.fetch.ImageServer.redirect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.domain.ImageData;
import ai.ferretstream.gateway.domain.RequestRejected;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fetcher against real HTTP servers on 127.0.0.1 (nothing leaves the machine). */
class ImageFetcherTest {

  private static final String PARAM = "messages[0].content[1].image_url.url";
  private static final byte[] PNG = png();

  private final ImageServer server;

  ImageFetcherTest() throws IOException {
    server = ImageServer.http();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private static ImageFetcher fetcher(AddressPolicy policy) {
    return fetcher(policy, Duration.ofSeconds(5), 3, 1_000_000);
  }

  private static ImageFetcher fetcher(
      AddressPolicy policy, Duration timeout, int maxRedirects, long maxBytes) {
    return new ImageFetcher(new ImageFetcher.Settings(timeout, maxRedirects, maxBytes, policy));
  }

  private static AddressPolicy allowLoopback() {
    return new AddressPolicy(List.of(), List.of("127.0.0.0/8"));
  }

  private static void assertRejected(
      ThrowingCallable call, RequestRejected.Reason reason, String code, String message) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.param()).isEqualTo(PARAM);
              assertThat(e.getMessage()).contains(message);
            });
  }

  private static void assertFailed(ThrowingCallable call, boolean timedOut, String message) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            ImageFetchFailed.class,
            e -> {
              assertThat(e.timedOut()).isEqualTo(timedOut);
              assertThat(e.param()).isEqualTo(PARAM);
              assertThat(e.getMessage()).contains(message);
            });
  }

  @Test
  void refusesLoopbackByDefaultWithoutConnecting() {
    server.route("/cat.png", bytes(PNG, "image/png"));
    ImageFetcher strict = fetcher(AddressPolicy.STRICT);

    assertRejected(
        () -> strict.fetch(server.url("/cat.png"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "resolves to a loopback address 127.0.0.1, which is not allowed");
    assertRejected(
        () -> strict.fetch(server.url("localhost", "/cat.png"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "a loopback address");
    assertRejected(
        () -> strict.fetch("http://[::ffff:127.0.0.1]:" + server.port() + "/cat.png", PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "a loopback address");
    assertThat(server.seen()).isEmpty();
  }

  @Test
  void fetchesFromAnAllowListedRangeOrHost() {
    server.route("/cat.png", bytes(PNG, "image/png; charset=binary"));

    ImageData byRange = fetcher(allowLoopback()).fetch(server.url("/cat.png#frag"), PARAM);
    ImageData byHost =
        fetcher(new AddressPolicy(List.of("localhost"), List.of()))
            .fetch(server.url("localhost", "/cat.png"), PARAM);

    assertThat(byRange.bytes()).isEqualTo(PNG);
    assertThat(byRange.mediaType()).isEqualTo("image/png");
    assertThat(byHost.bytes()).isEqualTo(PNG);
    assertThat(server.seen())
        .extracting(ImageServer.Seen::target)
        .containsExactly("/cat.png", "/cat.png");
    assertThat(server.seen().get(0).host()).isEqualTo("127.0.0.1:" + server.port());
    assertThat(server.seen().get(1).host()).isEqualTo("localhost:" + server.port());
  }

  @Test
  void resolvesOnceAndConnectsToTheCheckedAddressNotToTheName() {
    server.route("/img", bytes(PNG, null));
    AtomicInteger lookups = new AtomicInteger();
    ImageFetcher.Resolver dns =
        host -> {
          assertThat(host).isEqualTo("images.pinned.test");
          // a rebinding resolver: only the first answer is the (allowed) loopback address
          return lookups.incrementAndGet() == 1
              ? List.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}))
              : List.of(InetAddress.getByAddress(host, new byte[] {(byte) 192, (byte) 168, 0, 1}));
        };
    ImageFetcher fetcher =
        new ImageFetcher(
            new ImageFetcher.Settings(Duration.ofSeconds(5), 3, 1_000_000, allowLoopback()),
            dns,
            null);

    ImageData image = fetcher.fetch(server.url("images.pinned.test", "/img?size=small"), PARAM);

    // .test names never resolve: the fetch reached the server only through the pinned address
    assertThat(image.bytes()).isEqualTo(PNG);
    assertThat(image.mediaType()).isEqualTo("image/png");
    assertThat(lookups).hasValue(1);
    assertThat(server.seen())
        .containsExactly(
            new ImageServer.Seen(
                "GET", "/img?size=small", "images.pinned.test:" + server.port(), null));
  }

  @Test
  void checksEveryAddressAHostResolvesTo() throws Exception {
    server.route("/img", bytes(PNG, "image/png"));
    InetAddress loopback = InetAddress.getByAddress("two.test", new byte[] {127, 0, 0, 1});
    InetAddress lan = InetAddress.getByAddress("two.test", new byte[] {10, 0, 0, 1});
    ImageFetcher fetcher =
        new ImageFetcher(
            new ImageFetcher.Settings(
                Duration.ofSeconds(5),
                3,
                1_000_000,
                new AddressPolicy(List.of(), List.of("127.0.0.1/32"))),
            host -> List.of(loopback, lan),
            null);

    assertRejected(
        () -> fetcher.fetch(server.url("two.test", "/img"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "'two.test' resolves to a private address 10.0.0.1");
    assertThat(server.seen()).isEmpty();
  }

  @Test
  void refusesUnresolvableHostsAndMalformedUrls() {
    ImageFetcher fetcher =
        new ImageFetcher(
            new ImageFetcher.Settings(Duration.ofSeconds(5), 3, 1000, AddressPolicy.STRICT),
            host -> {
              throw new UnknownHostException(host);
            },
            null);

    assertRejected(
        () -> fetcher.fetch("http://nowhere.test/a.png", PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "'nowhere.test' could not be resolved");
    assertRejected(
        () -> fetcher.fetch("http://exa mple.com/a.png", PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "not a valid URL");
    assertRejected(
        () -> fetcher.fetch("http://user:secret@example.com/a.png", PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "credentials");
    assertRejected(
        () -> fetcher.fetch("http:///a.png", PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "no valid host");
  }

  @Test
  void followsABoundedNumberOfRedirectsAndChecksEachHop() {
    server.route("/hop/3", redirect(301, "/hop/2"));
    server.route("/hop/2", redirect(302, server.url("/hop/1")));
    server.route("/hop/1", redirect(307, "1b"));
    server.route("/hop/1b", redirect(308, "/img"));
    server.route("/img", bytes(PNG, "image/png"));
    server.route("/loop", redirect(302, "/loop"));

    ImageData image = fetcher(allowLoopback()).fetch(server.url("/hop/2"), PARAM);
    assertThat(image.bytes()).isEqualTo(PNG);
    assertThat(server.seen())
        .extracting(ImageServer.Seen::target)
        .containsExactly("/hop/2", "/hop/1", "/hop/1b", "/img");

    assertFailed(
        () -> fetcher(allowLoopback()).fetch(server.url("/hop/3"), PARAM),
        false,
        "redirected more than 3 times");
    assertFailed(
        () ->
            fetcher(allowLoopback(), Duration.ofSeconds(5), 0, 1000)
                .fetch(server.url("/loop"), PARAM),
        false,
        "redirected more than 0 times");
    // 4 requests for the first chain, 4 (3 redirects followed, the 4th refused), 1 (none allowed)
    assertThat(server.seen()).hasSize(4 + 4 + 1);
  }

  @Test
  void resolvesARelativeRedirectFromAnEmptyPathAgainstTheRoot() {
    server.route("/", redirect(302, "img"));
    server.route("/img", bytes(PNG, "image/png"));

    ImageData image = fetcher(allowLoopback()).fetch("http://127.0.0.1:" + server.port(), PARAM);

    assertThat(image.bytes()).isEqualTo(PNG);
    assertThat(server.seen()).extracting(ImageServer.Seen::target).containsExactly("/", "/img");
  }

  @Test
  void refusesARedirectToARefusedAddressBeforeConnectingToIt() {
    server.route("/away", redirect(302, server.url("/secret.png")));
    server.route("/secret.png", bytes(PNG, "image/png"));
    server.route("/file", redirect(302, "file:///etc/passwd"));
    ImageFetcher onlyLocalhost = fetcher(new AddressPolicy(List.of("localhost"), List.of()));

    assertRejected(
        () -> onlyLocalhost.fetch(server.url("localhost", "/away"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "'127.0.0.1' resolves to a loopback address 127.0.0.1, which is not allowed");
    assertRejected(
        () -> onlyLocalhost.fetch(server.url("localhost", "/file"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image_url",
        "the redirect to file:///etc/passwd is not an http or https URL");
    assertThat(server.seen())
        .extracting(ImageServer.Seen::target)
        .containsExactly("/away", "/file");
  }

  @Test
  void refusesAnOversizedBodyWithoutReadingItAll() throws Exception {
    long total = 64L * 1024 * 1024;
    AtomicLong written = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    // chunked: no Content-Length to go by
    server.route("/huge", streaming("image/png", 0, total, written, done));

    assertRejected(
        () ->
            fetcher(allowLoopback(), Duration.ofSeconds(10), 3, 100_000)
                .fetch(server.url("/huge"), PARAM),
        RequestRejected.Reason.TOO_LARGE,
        "image_too_large",
        "is larger than 100000 bytes, the most accepted; the download was stopped there");
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(written.get()).isLessThan(total / 4);
  }

  @Test
  void refusesABodyWhoseContentLengthIsTooLargeBeforeReadingIt() throws Exception {
    AtomicLong written = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    long declared = 50_000_000;
    server.route("/declared", streaming("image/jpeg", declared, declared, written, done));

    assertRejected(
        () ->
            fetcher(allowLoopback(), Duration.ofSeconds(10), 3, 100_000)
                .fetch(server.url("/declared"), PARAM),
        RequestRejected.Reason.TOO_LARGE,
        "image_too_large",
        "is 50000000 bytes (Content-Length); at most 100000 bytes are accepted");
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(written.get()).isLessThan(declared / 2);
  }

  @Test
  void acceptsAnImageOfExactlyTheLimit() {
    server.route("/img", bytes(PNG, "image/png"));

    ImageData image =
        fetcher(allowLoopback(), Duration.ofSeconds(5), 3, PNG.length)
            .fetch(server.url("/img"), PARAM);

    assertThat(image.bytes()).hasSize(PNG.length);
  }

  @Test
  void timesOutWaitingForTheAnswer() {
    CountDownLatch release = new CountDownLatch(1);
    server.route(
        "/slow",
        exchange -> {
          try {
            release.await(20, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    long start = System.nanoTime();
    try {
      assertFailed(
          () ->
              fetcher(allowLoopback(), Duration.ofMillis(500), 3, 1000)
                  .fetch(server.url("/slow"), PARAM),
          true,
          "did not finish within the image fetch timeout of 500ms");
    } finally {
      release.countDown();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void timesOutOnABodyThatTricklesIn() {
    CountDownLatch release = new CountDownLatch(1);
    server.route(
        "/trickle",
        exchange -> {
          exchange.getResponseHeaders().set("Content-Type", "image/png");
          exchange.sendResponseHeaders(200, 0);
          try (OutputStream out = exchange.getResponseBody()) {
            while (!release.await(100, TimeUnit.MILLISECONDS)) {
              out.write(1);
              out.flush();
            }
          } catch (IOException | InterruptedException e) {
            // the fetcher hung up
          }
        });
    long start = System.nanoTime();
    try {
      assertFailed(
          () ->
              fetcher(allowLoopback(), Duration.ofMillis(700), 3, 1_000_000)
                  .fetch(server.url("/trickle"), PARAM),
          true,
          "image fetch timeout");
    } finally {
      release.countDown();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void reportsHttpErrorsAndUnreachableServersAsFetchFailures() throws Exception {
    server.route("/missing", ImageServer.status(404));
    server.route("/broken", ImageServer.status(500));
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }

    assertFailed(
        () -> fetcher(allowLoopback()).fetch(server.url("/missing"), PARAM),
        false,
        "answered HTTP 404");
    assertFailed(
        () -> fetcher(allowLoopback()).fetch(server.url("/broken"), PARAM),
        false,
        "answered HTTP 500");
    assertFailed(
        () -> fetcher(allowLoopback()).fetch("http://127.0.0.1:" + closedPort + "/x.png", PARAM),
        false,
        "could not connect to 127.0.0.1 port " + closedPort);
  }

  @Test
  void refusesWhatIsNotAnImage() {
    server.route("/page", bytes("<html></html>".getBytes(), "text/html"));
    server.route("/blob", bytes(new byte[] {1, 2, 3, 4}, "application/octet-stream"));
    server.route("/empty", bytes(new byte[0], "image/png"));
    server.route("/untyped", bytes(PNG, null));
    ImageFetcher fetcher = fetcher(allowLoopback());

    assertRejected(
        () -> fetcher.fetch(server.url("/page"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image",
        "is not an image (it was sent as 'text/html')");
    assertRejected(
        () -> fetcher.fetch(server.url("/blob"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image",
        "is not an image");
    assertRejected(
        () -> fetcher.fetch(server.url("/empty"), PARAM),
        RequestRejected.Reason.INVALID,
        "invalid_image",
        "sent no image bytes");
    assertThat(fetcher.fetch(server.url("/untyped"), PARAM).mediaType()).isEqualTo("image/png");
  }

  @Test
  void recognisesCommonImageFormatsByTheirBytes() {
    assertThat(ImageFetcher.sniff(PNG)).isEqualTo("image/png");
    assertThat(ImageFetcher.sniff(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0}))
        .isEqualTo("image/jpeg");
    assertThat(ImageFetcher.sniff("GIF89a".getBytes())).isEqualTo("image/gif");
    assertThat(ImageFetcher.sniff("RIFF\0\0\0\0WEBPVP8 ".getBytes())).isEqualTo("image/webp");
    assertThat(ImageFetcher.sniff("BM\0\0".getBytes())).isEqualTo("image/bmp");
    assertThat(ImageFetcher.sniff("<html>".getBytes())).isNull();
  }

  @Test
  void tellsRemoteUrlsFromDataUrls() {
    assertThat(ImageFetcher.isRemote("HTTPS://example.com/a.png")).isTrue();
    assertThat(ImageFetcher.isRemote("http://example.com/a.png")).isTrue();
    assertThat(ImageFetcher.isRemote("data:image/png;base64,AAAA")).isFalse();
    assertThat(ImageFetcher.isRemote("ftp://example.com/a.png")).isFalse();
    assertThat(ImageFetcher.isRemote("http:")).isFalse();
  }

  /**
   * Answers 200 with {@code contentLength} (0: chunked) and writes 64 KiB chunks until {@code
   * total} bytes are out or the client hangs up, counting them in {@code written}; {@code done}
   * opens when it stops.
   */
  private static com.sun.net.httpserver.HttpHandler streaming(
      String contentType, long contentLength, long total, AtomicLong written, CountDownLatch done) {
    return exchange -> {
      exchange.getResponseHeaders().set("Content-Type", contentType);
      exchange.sendResponseHeaders(200, contentLength);
      byte[] chunk = new byte[64 * 1024];
      try (OutputStream out = exchange.getResponseBody()) {
        while (written.get() < total) {
          out.write(chunk);
          written.addAndGet(chunk.length);
        }
      } catch (IOException e) {
        // the fetcher hung up
      } finally {
        done.countDown();
      }
    };
  }
}

package ai.ferretstream.gateway.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.domain.ImageData;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * https image URLs go through the pinned tunnel: the TLS session is verified against the URL's host
 * name (SNI and certificate) although the connection goes to the address checked before, and the
 * name itself is never resolved by the HTTP client. The server's certificate is made for {@code
 * images.pinned.test} by the JDK's keytool.
 */
class ImageFetcherHttpsTest {

  private static final String HOST = "images.pinned.test";
  private static final char[] PASSWORD = "changeit".toCharArray();
  private static final byte[] PNG = ImageServer.png();

  @TempDir static Path dir;

  private static SSLContext clientContext;
  private static ImageServer server;

  @BeforeAll
  static void start() throws Exception {
    Path keystore = dir.resolve("server.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "server",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=" + HOST,
                "-ext",
                "SAN=dns:" + HOST,
                "-validity",
                "2",
                "-keystore",
                keystore.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                new String(PASSWORD),
                "-keypass",
                new String(PASSWORD))
            .redirectErrorStream(true)
            .start();
    String output = new String(keytool.getInputStream().readAllBytes());
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).as("keytool finished").isTrue();
    assertThat(keytool.exitValue()).as("keytool: " + output).isZero();

    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      keys.load(in, PASSWORD);
    }
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, PASSWORD);
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(keyManagers.getKeyManagers(), null, null);

    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("server", keys.getCertificate("server"));
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trusted);
    clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, trustManagers.getTrustManagers(), null);

    server = ImageServer.https(serverContext).route("/img", ImageServer.bytes(PNG, "image/png"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Resolves every name to 127.0.0.1, as a DNS server would for this test's names. */
  private static List<InetAddress> loopback(String host) throws java.net.UnknownHostException {
    return List.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}));
  }

  private static ImageFetcher fetcher(SSLContext context) {
    return new ImageFetcher(
        new ImageFetcher.Settings(
            Duration.ofSeconds(5),
            3,
            1_000_000,
            new AddressPolicy(List.of(), List.of("127.0.0.1"))),
        ImageFetcherHttpsTest::loopback,
        context);
  }

  @Test
  void fetchesOverTlsWithTheUrlsHostNameThroughThePinnedAddress() {
    int before = server.seen().size();

    ImageData image = fetcher(clientContext).fetch(server.url(HOST, "/img"), "url");

    assertThat(image.bytes()).isEqualTo(PNG);
    assertThat(server.seen().subList(before, server.seen().size()))
        .containsExactly(new ImageServer.Seen("GET", "/img", HOST + ":" + server.port(), HOST));
  }

  @Test
  void refusesACertificateForAnotherName() {
    int before = server.seen().size();

    assertThatThrownBy(
            () -> fetcher(clientContext).fetch(server.url("other.pinned.test", "/img"), "url"))
        .isInstanceOfSatisfying(
            ImageFetchFailed.class,
            e -> {
              assertThat(e.timedOut()).isFalse();
              assertThat(e.getMessage()).contains("other.pinned.test");
            });
    assertThat(server.seen()).hasSize(before);
  }

  @Test
  void refusesAnUntrustedCertificate() throws Exception {
    int before = server.seen().size();

    assertThatThrownBy(
            () -> fetcher(SSLContext.getDefault()).fetch(server.url(HOST, "/img"), "url"))
        .isInstanceOfSatisfying(
            ImageFetchFailed.class, e -> assertThat(e.getMessage()).contains("fetching https://"));
    assertThat(server.seen()).hasSize(before);
  }
}

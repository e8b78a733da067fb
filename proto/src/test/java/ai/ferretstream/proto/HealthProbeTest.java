package ai.ferretstream.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class HealthProbeTest {

  @Test
  void passesOnlyOnA2xxAnswer() throws Exception {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/up",
        e -> {
          e.sendResponseHeaders(200, 2);
          e.getResponseBody().write("ok".getBytes());
          e.close();
        });
    server.createContext(
        "/down",
        e -> {
          e.sendResponseHeaders(503, -1);
          e.close();
        });
    server.start();
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();
      assertThat(HealthProbe.check(base + "/up")).isTrue();
      assertThat(HealthProbe.check(base + "/down")).isFalse();
      assertThat(HealthProbe.check(base + "/missing")).isFalse();
    } finally {
      server.stop(0);
    }
  }

  @Test
  void failsWhenNothingListensOrTheUrlIsBad() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    assertThat(HealthProbe.check("http://127.0.0.1:" + port + "/")).isFalse();
    assertThat(HealthProbe.check("not a url")).isFalse();
  }
}

package ai.ferretstream.gateway.fetch;

import ai.ferretstream.testsupport.TestImages;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;

/**
 * A JDK HTTP(S) server on 127.0.0.1 for image fetch tests. It records every request it receives
 * (path as sent on the request line, {@code Host} header, the TLS SNI name).
 */
public final class ImageServer implements AutoCloseable {

  /** One request as the server saw it. */
  public record Seen(String method, String target, String host, String sni) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final boolean tls;

  private ImageServer(HttpServer server, boolean tls) {
    this.server = server;
    this.tls = tls;
    server.setExecutor(executor);
    server.start();
  }

  /** A plain HTTP server on 127.0.0.1 and a free port. */
  public static ImageServer http() throws IOException {
    return new ImageServer(
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0), false);
  }

  /** An HTTPS server on 127.0.0.1 and a free port, with the key and certificate of the context. */
  public static ImageServer https(SSLContext context) throws IOException {
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context));
    return new ImageServer(server, true);
  }

  /** Serves the handler under the path (a prefix, as in {@link HttpServer#createContext}). */
  public ImageServer route(String path, HttpHandler handler) {
    server.createContext(
        path,
        exchange -> {
          seen.add(
              new Seen(
                  exchange.getRequestMethod(),
                  exchange.getRequestURI().toString(),
                  exchange.getRequestHeaders().getFirst("Host"),
                  sni(exchange)));
          try {
            handler.handle(exchange);
          } finally {
            exchange.close();
          }
        });
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** {@code http(s)://127.0.0.1:port/path}. */
  public String url(String path) {
    return url("127.0.0.1", path);
  }

  /** {@code http(s)://host:port/path}. */
  public String url(String host, String path) {
    return (tls ? "https://" : "http://") + host + ":" + port() + path;
  }

  /** The requests received so far. */
  public List<Seen> seen() {
    return List.copyOf(seen);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private static String sni(HttpExchange exchange) {
    if (!(exchange instanceof HttpsExchange https)) {
      return null;
    }
    SSLSession session = https.getSSLSession();
    if (session instanceof ExtendedSSLSession extended) {
      return extended.getRequestedServerNames().stream()
          .filter(SNIHostName.class::isInstance)
          .map(name -> ((SNIHostName) name).getAsciiName())
          .findFirst()
          .orElse(null);
    }
    return null;
  }

  /** Answers 200 with the bytes and content type (none when {@code contentType} is null). */
  public static HttpHandler bytes(byte[] body, String contentType) {
    return exchange -> {
      if (contentType != null) {
        exchange.getResponseHeaders().set("Content-Type", contentType);
      }
      exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    };
  }

  /** Answers with the status and a {@code Location} header. */
  public static HttpHandler redirect(int status, String location) {
    return exchange -> {
      exchange.getResponseHeaders().set("Location", location);
      exchange.sendResponseHeaders(status, -1);
    };
  }

  /** Answers with the status and a short text body. */
  public static HttpHandler status(int status) {
    return exchange -> {
      byte[] body = ("status " + status).getBytes();
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(status, body.length);
      exchange.getResponseBody().write(body);
    };
  }

  /** A small PNG: 64x48, white with a red square (the gateway tests' one test image). */
  public static byte[] png() {
    return TestImages.png(
        TestImages.fill(TestImages.plain(64, 48, Color.WHITE), Color.RED, 8, 8, 16, 16));
  }
}

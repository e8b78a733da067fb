package ai.ferretstream.proto;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * A container health check that needs nothing but the JVM already in the image (no curl or wget):
 * {@code java -cp /app/app.jar ai.ferretstream.proto.HealthProbe URL} exits 0 when {@code GET URL}
 * answers 2xx within 3 seconds, and 1 otherwise (refused, timed out, any other status).
 */
public final class HealthProbe {

  static final int TIMEOUT_MS = 3000;

  private HealthProbe() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: HealthProbe http://127.0.0.1:PORT/PATH");
      System.exit(2);
    }
    System.exit(check(args[0]) ? 0 : 1);
  }

  /** Whether {@code url} answers a GET with a 2xx status; prints why not otherwise. */
  static boolean check(String url) {
    HttpURLConnection connection = null;
    try {
      connection = (HttpURLConnection) new URI(url).toURL().openConnection();
      connection.setConnectTimeout(TIMEOUT_MS);
      connection.setReadTimeout(TIMEOUT_MS);
      connection.setInstanceFollowRedirects(false);
      int status = connection.getResponseCode();
      try (InputStream body =
          status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
        if (body != null) {
          body.readAllBytes();
        }
      }
      if (status / 100 != 2) {
        System.err.println(url + " answered " + status);
        return false;
      }
      return true;
    } catch (IOException | URISyntaxException | IllegalArgumentException e) {
      System.err.println(url + ": " + e);
      return false;
    } finally {
      if (connection != null) {
        connection.disconnect();
      }
    }
  }
}

package ai.ferretstream.launcher;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** A test's HTTP client of a local stack's gateway: GETs, POSTs and server-sent events. */
final class GatewayClient {

  private static final JsonMapper JSON = JsonMapper.shared();

  private final String baseUrl;
  private final Duration timeout;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /**
   * @param baseUrl the gateway's URL ({@link LocalStack#gatewayUrl()})
   * @param timeout each request's timeout
   */
  GatewayClient(String baseUrl, Duration timeout) {
    this.baseUrl = baseUrl;
    this.timeout = timeout;
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(timeout).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path, String contentType, byte[] body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(timeout)
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> postJson(String path, JsonNode body) throws Exception {
    return post(path, "application/json", JSON.writeValueAsBytes(body));
  }

  /**
   * The events of a server-sent event stream as {@code {"event"?, "data"}}, {@code data} parsed as
   * JSON when it is an object.
   */
  static List<JsonNode> events(String body) {
    List<JsonNode> events = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      if (block.isBlank()) {
        continue;
      }
      ObjectNode event = JSON.createObjectNode();
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) {
          event.put("event", line.substring(7));
        } else if (line.startsWith("data: ")) {
          String data = line.substring(6);
          event.set(
              "data",
              data.startsWith("{") ? JSON.readTree(data) : JSON.getNodeFactory().stringNode(data));
        }
      }
      events.add(event);
    }
    return events;
  }
}

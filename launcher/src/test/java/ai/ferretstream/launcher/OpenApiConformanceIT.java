package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.testsupport.TestImages;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialects;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Real responses of every endpoint of the running stack (dev models) conform to the OpenAPI
 * document the gateway serves at {@code /openapi.json}: each body, and each server-sent event of a
 * stream, is validated with networknt's JSON Schema validator (OpenAPI 3.1's dialect) against the
 * schema the document gives for that path, method, status and media type.
 */
class OpenApiConformanceIT {

  private static final String BASE = "https://ferret-stream.invalid/openapi.json";
  private static final JsonMapper JSON = JsonMapper.shared();

  private static LocalStack stack;
  private static GatewayClient gateway;
  private static JsonNode document;
  private static SchemaRegistry schemas;
  private static String image;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start();
    gateway = new GatewayClient(stack.gatewayUrl(), Duration.ofSeconds(60));
    HttpResponse<String> served = get("/openapi.json");
    assertThat(served.statusCode()).isEqualTo(200);
    document = JSON.readTree(served.body());
    schemas =
        SchemaRegistry.withDefaultDialect(
            Dialects.getOpenApi31(), builder -> builder.schemas(Map.of(BASE, served.body())));
    image = Base64.getEncoder().encodeToString(TestImages.png(TestImages.redAndBlue(320, 240)));
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return gateway.get(path);
  }

  private static HttpResponse<String> post(String path, String contentType, byte[] body)
      throws Exception {
    return gateway.post(path, contentType, body);
  }

  private static HttpResponse<String> postJson(String path, JsonNode body) throws Exception {
    return gateway.postJson(path, body);
  }

  /** The schema of a response, following a {@code $ref} to {@code components/responses}. */
  private static Schema schema(String path, String method, int status, String mediaType) {
    String pointer = "/paths/" + escape(path) + "/" + method + "/responses/" + status;
    JsonNode response = document.at(pointer);
    assertThat(response.isMissingNode())
        .as("the document describes %s %s %d", method, path, status)
        .isFalse();
    if (response.has("$ref")) {
      pointer = response.get("$ref").stringValue().substring(1);
      response = document.at(pointer);
    }
    pointer += "/content/" + escape(mediaType) + "/schema";
    assertThat(document.at(pointer).isMissingNode())
        .as("the document gives %s a %s body", pointer, mediaType)
        .isFalse();
    return schemas.getSchema(SchemaLocation.of(BASE + "#" + pointer));
  }

  private static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }

  private static void assertConforms(Schema schema, JsonNode value) {
    List<Error> errors = schema.validate(value);
    assertThat(errors).as("%s conforms to the document", value).isEmpty();
  }

  /** The body, as the document says for its status and content type. */
  private static JsonNode assertBodyConforms(HttpResponse<String> response, String path) {
    String type = response.headers().firstValue("Content-Type").orElse("");
    assertThat(type).startsWith("application/json");
    JsonNode body = JSON.readTree(response.body());
    assertConforms(schema(path, "post", response.statusCode(), "application/json"), body);
    return body;
  }

  /** The events of a stream as {@code {"event"?, "data"}}, data parsed as JSON when it is. */
  private static List<JsonNode> events(HttpResponse<String> response) {
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type").orElse(""))
        .startsWith("text/event-stream");
    return GatewayClient.events(response.body());
  }

  private static List<JsonNode> assertStreamConforms(HttpResponse<String> response, String path) {
    List<JsonNode> events = events(response);
    Schema schema = schema(path, "post", 200, "text/event-stream");
    events.forEach(event -> assertConforms(schema, event));
    return events;
  }

  private static ObjectNode chat(boolean stream) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", "ferret-v2-dev");
    body.put("stream", stream);
    body.put("grounding", true);
    ObjectNode message = body.putArray("messages").addObject();
    message.put("role", "user");
    var content = message.putArray("content");
    content.addObject().put("type", "text").put("text", "Where is the red object?");
    content
        .addObject()
        .put("type", "image_url")
        .putObject("image_url")
        .put("url", "data:image/png;base64," + image);
    return body;
  }

  private static ObjectNode ask(boolean stream) {
    ObjectNode body = JSON.createObjectNode();
    body.put("question", "What is in the region?");
    body.put("image", image);
    body.put("stream", stream);
    body.put("grounding", true);
    body.putArray("regions").addObject().putArray("box").add(10).add(10).add(150).add(200);
    return body;
  }

  @Test
  void models() throws Exception {
    HttpResponse<String> response = get("/v1/models");

    assertThat(response.statusCode()).isEqualTo(200);
    assertConforms(
        schema("/v1/models", "get", 200, "application/json"), JSON.readTree(response.body()));
  }

  @Test
  void chatCompletion() throws Exception {
    JsonNode body =
        assertBodyConforms(postJson("/v1/chat/completions", chat(false)), "/v1/chat/completions");

    assertThat(body.at("/choices/0/message/content").stringValue()).isNotBlank();
  }

  @Test
  void chatCompletionStream() throws Exception {
    ObjectNode request = chat(true);
    request.putObject("stream_options").put("include_usage", true);

    List<JsonNode> events =
        assertStreamConforms(postJson("/v1/chat/completions", request), "/v1/chat/completions");

    assertThat(events.get(events.size() - 1).get("data").stringValue()).isEqualTo("[DONE]");
    assertThat(events).anyMatch(e -> e.at("/data/choices/0/delta/boxes").isArray());
    assertThat(events).anyMatch(e -> e.at("/data/usage/total_tokens").isNumber());
  }

  @Test
  void nativeAnswer() throws Exception {
    JsonNode body = assertBodyConforms(postJson("/v1/ferret/ask", ask(false)), "/v1/ferret/ask");

    assertThat(body.get("text").stringValue()).isNotBlank();
  }

  @Test
  void nativeStreamFromAMultipartUpload() throws Exception {
    ObjectNode request = ask(true);
    request.remove("image");
    String boundary = "ferret-" + UUID.randomUUID();
    byte[] png = Base64.getDecoder().decode(image);
    var multipart = new java.io.ByteArrayOutputStream();
    multipart.write(
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"request\"\r\n"
                + "Content-Type: application/json\r\n\r\n"
                + JSON.writeValueAsString(request)
                + "\r\n--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"image\";"
                + " filename=\"image.png\"\r\nContent-Type: image/png\r\n\r\n")
            .getBytes(StandardCharsets.UTF_8));
    multipart.write(png);
    multipart.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));

    List<JsonNode> events =
        assertStreamConforms(
            post(
                "/v1/ferret/ask",
                "multipart/form-data; boundary=" + boundary,
                multipart.toByteArray()),
            "/v1/ferret/ask");

    assertThat(events).anyMatch(e -> e.get("event").stringValue().equals("delta"));
    assertThat(events.get(events.size() - 1).get("event").stringValue()).isEqualTo("done");
  }

  @Test
  void errorsBeforeTheAnswer() throws Exception {
    ObjectNode wrongModel = chat(false).put("model", "gpt-4o");
    ObjectNode outside = ask(false);
    ((ObjectNode) outside.get("regions").get(0)).putArray("box").add(0).add(0).add(999).add(10);

    assertThat(post("/v1/chat/completions", "application/json", "{".getBytes()).statusCode())
        .isEqualTo(400);
    assertBodyConforms(
        post("/v1/chat/completions", "application/json", "{".getBytes()), "/v1/chat/completions");
    HttpResponse<String> notFound = postJson("/v1/chat/completions", wrongModel);
    assertThat(notFound.statusCode()).isEqualTo(404);
    assertBodyConforms(notFound, "/v1/chat/completions");
    HttpResponse<String> unsupported = post("/v1/ferret/ask", "text/plain", "hi".getBytes());
    assertThat(unsupported.statusCode()).isEqualTo(415);
    assertBodyConforms(unsupported, "/v1/ferret/ask");
    HttpResponse<String> invalidRegion = postJson("/v1/ferret/ask", outside);
    assertThat(invalidRegion.statusCode()).isEqualTo(400);
    assertThat(assertBodyConforms(invalidRegion, "/v1/ferret/ask").at("/error/code").stringValue())
        .isEqualTo("invalid_region");
  }

  @Test
  void pipelineErrors() throws Exception {
    String notAnImage = Base64.getEncoder().encodeToString("not an image".getBytes());
    ObjectNode ask = ask(false).put("image", notAnImage);
    ask.remove("regions");
    ObjectNode askStream = ask.deepCopy().put("stream", true);
    ObjectNode chatStream = chat(true);
    ((ObjectNode) chatStream.at("/messages/0/content/1/image_url"))
        .put("url", "data:image/png;base64," + notAnImage);

    HttpResponse<String> refused = postJson("/v1/ferret/ask", ask);
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(assertBodyConforms(refused, "/v1/ferret/ask").at("/error/code").stringValue())
        .isEqualTo("invalid_image");
    List<JsonNode> nativeEvents =
        assertStreamConforms(postJson("/v1/ferret/ask", askStream), "/v1/ferret/ask");
    assertThat(nativeEvents.get(nativeEvents.size() - 1).at("/data/code").stringValue())
        .isEqualTo("invalid_image");
    List<JsonNode> chatEvents =
        assertStreamConforms(postJson("/v1/chat/completions", chatStream), "/v1/chat/completions");
    assertThat(chatEvents)
        .anyMatch(
            e ->
                e.at("/data/error/code").isString()
                    && e.at("/data/error/code").stringValue().equals("invalid_image"));
  }

  @Test
  void theValidatorRejectsWhatTheDocumentForbids() throws Exception {
    // the checks above are worth something only if a wrong shape does fail
    JsonNode body = JSON.readTree(postJson("/v1/ferret/ask", ask(false)).body());
    ObjectNode wrong = (ObjectNode) body.deepCopy();
    wrong.put("finish_reason", "maybe");
    wrong.remove("usage");

    assertThat(schema("/v1/ferret/ask", "post", 200, "application/json").validate(wrong))
        .hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void docsPage() throws Exception {
    HttpResponse<String> page = get("/docs");
    HttpResponse<String> ui = get("/webjars/swagger-ui/swagger-ui-bundle.js");
    HttpResponse<String> yaml = get("/openapi.yaml");

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("/webjars/swagger-ui/swagger-ui-bundle.js");
    assertThat(ui.statusCode()).as("Swagger UI is served from its webjar").isEqualTo(200);
    assertThat(ui.body()).contains("SwaggerUIBundle");
    assertThat(yaml.statusCode()).isEqualTo(200);
    assertThat(yaml.body()).startsWith("openapi: 3.1.0");
  }
}

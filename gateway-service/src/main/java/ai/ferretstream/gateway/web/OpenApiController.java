package ai.ferretstream.gateway.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The HTTP API's contract: the checked-in OpenAPI 3.1 document ({@code docs/openapi.yaml}, packed
 * into the jar at {@value #DOCUMENT}) as {@code /openapi.json} and {@code /openapi.yaml}, and a
 * docs page at {@code /docs} (Swagger UI from its webjar, reading {@code /openapi.json}). All three
 * stay open when API keys are configured ({@link ApiKeyFilter} guards {@code /v1/...} only), as
 * vLLM's and other FastAPI servers' {@code /docs} do.
 */
@RestController
class OpenApiController {

  /** The document on the classpath. */
  static final String DOCUMENT = "ferret/openapi.yaml";

  private static final String PAGE = "ferret/docs.html";
  private static final MediaType YAML = MediaType.parseMediaType("application/yaml");

  private final byte[] yaml;
  private final byte[] json;
  private final byte[] page;

  OpenApiController(JsonMapper json) {
    this.yaml = resource(DOCUMENT);
    JsonNode document = YAMLMapper.builder().build().readTree(yaml);
    this.json = json.writeValueAsBytes(document);
    this.page = resource(PAGE);
  }

  @GetMapping(value = "/openapi.json", produces = MediaType.APPLICATION_JSON_VALUE)
  byte[] openApiJson() {
    return json;
  }

  @GetMapping(value = "/openapi.yaml", produces = "application/yaml")
  ResponseEntity<byte[]> openApiYaml() {
    return ResponseEntity.ok().contentType(YAML).body(yaml);
  }

  @GetMapping(value = "/docs", produces = MediaType.TEXT_HTML_VALUE)
  byte[] docs() {
    return page;
  }

  private static byte[] resource(String name) {
    try (InputStream in = OpenApiController.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is not on the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

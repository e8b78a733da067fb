package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.SpecVersion;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.type.filter.AnnotationTypeFilter;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The checked-in OpenAPI document ({@code docs/openapi.yaml}) is a valid OpenAPI 3.1 document by
 * swagger-api's own parser, describes exactly the {@code /v1} operations the controllers map, and
 * is what the gateway serves. Real responses are checked against it end to end by the launcher's
 * {@code OpenApiConformanceIT}.
 */
class OpenApiDocumentTest {

  private final JsonMapper json = JsonMapper.builder().build();

  private static String document() throws IOException {
    try (InputStream in =
        OpenApiDocumentTest.class
            .getClassLoader()
            .getResourceAsStream(OpenApiController.DOCUMENT)) {
      assertThat(in).as(OpenApiController.DOCUMENT + " on the classpath").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static SwaggerParseResult parse(String text) {
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    return new OpenAPIV3Parser().readContents(text, null, options);
  }

  @Test
  void isAValidOpenApi31Document() throws IOException {
    SwaggerParseResult result = parse(document());

    assertThat(result.getMessages()).isEmpty();
    OpenAPI api = result.getOpenAPI();
    assertThat(api.getSpecVersion()).isEqualTo(SpecVersion.V31);
    assertThat(api.getOpenapi()).isEqualTo("3.1.0");
    assertThat(api.getComponents().getSchemas())
        .containsKeys("ChatCompletion", "ChatCompletionChunk", "AskStreamEvent", "ErrorResponse");
  }

  @Test
  void theParserReportsABrokenDocument() throws IOException {
    // the check above is only worth something if the parser does find mistakes
    String broken =
        document()
            .replace("operationId: listModels", "operationId: [listModels]")
            .replace("$ref: \"#/components/schemas/ModelList\"", "$ref: 42");

    assertThat(parse(broken).getMessages()).isNotEmpty();
  }

  @Test
  void describesExactlyTheOperationsTheControllersMap() throws Exception {
    OpenAPI api = parse(document()).getOpenAPI();
    TreeSet<String> documented = new TreeSet<>();
    for (Map.Entry<String, PathItem> path : api.getPaths().entrySet()) {
      path.getValue()
          .readOperationsMap()
          .keySet()
          .forEach(method -> documented.add(method + " " + path.getKey()));
    }

    assertThat(documented).isEqualTo(mappedApiOperations());
  }

  /** {@code METHOD /v1/...} of every {@code @RestController} method in this package. */
  private static TreeSet<String> mappedApiOperations() throws ClassNotFoundException {
    ClassPathScanningCandidateComponentProvider scanner =
        new ClassPathScanningCandidateComponentProvider(false);
    scanner.addIncludeFilter(new AnnotationTypeFilter(RestController.class));
    TreeSet<String> mapped = new TreeSet<>();
    for (BeanDefinition bean : scanner.findCandidateComponents("ai.ferretstream.gateway")) {
      for (Method method : Class.forName(bean.getBeanClassName()).getDeclaredMethods()) {
        RequestMapping mapping =
            AnnotatedElementUtils.findMergedAnnotation(method, RequestMapping.class);
        if (mapping == null) {
          continue;
        }
        for (String path : mapping.path()) {
          for (var verb : mapping.method()) {
            if (path.startsWith("/v1/")) {
              mapped.add(verb.name() + " " + path);
            }
          }
        }
      }
    }
    assertThat(mapped).as("the scan found the controllers").isNotEmpty();
    return mapped;
  }

  @Test
  void theGatewayServesTheDocumentAndADocsPage() throws Exception {
    MockMvc mvc = MockMvcBuilders.standaloneSetup(new OpenApiController(json)).build();
    JsonNode expected = YAMLMapper.builder().build().readTree(document());

    MockHttpServletResponse asJson = mvc.perform(get("/openapi.json")).andReturn().getResponse();
    MockHttpServletResponse asYaml = mvc.perform(get("/openapi.yaml")).andReturn().getResponse();
    MockHttpServletResponse page = mvc.perform(get("/docs")).andReturn().getResponse();

    assertThat(asJson.getStatus()).isEqualTo(200);
    assertThat(asJson.getContentType()).startsWith("application/json");
    assertThat(json.readTree(asJson.getContentAsByteArray())).isEqualTo(expected);
    assertThat(asYaml.getContentType()).startsWith("application/yaml");
    assertThat(asYaml.getContentAsString(StandardCharsets.UTF_8)).isEqualTo(document());
    assertThat(page.getStatus()).isEqualTo(200);
    assertThat(page.getContentType()).startsWith("text/html");
    assertThat(page.getContentAsString(StandardCharsets.UTF_8))
        .contains("/webjars/swagger-ui/swagger-ui-bundle.js")
        .contains("url: \"/openapi.json\"");
  }
}

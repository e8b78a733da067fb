package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.gateway.config.AuthProperties;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

class ApiKeyFilterTest {

  private final JsonMapper json = JsonMapper.builder().build();

  private MockHttpServletResponse call(ApiKeyFilter filter, String uri, String header, String value)
      throws Exception {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", uri);
    if (header != null) {
      request.addHeader(header, value);
    }
    MockHttpServletResponse response = new MockHttpServletResponse();
    filter.doFilter(request, response, new MockFilterChain());
    return response;
  }

  @Test
  void letsEverythingThroughWhenNoKeysAreConfigured() throws Exception {
    ApiKeyFilter open = new ApiKeyFilter(new AuthProperties(List.of()), json);

    assertThat(call(open, "/v1/chat/completions", null, null).getStatus()).isEqualTo(200);
  }

  @Test
  void requiresAConfiguredKeyOnTheApi() throws Exception {
    ApiKeyFilter filter = new ApiKeyFilter(new AuthProperties(List.of("s3cret", "other")), json);

    MockHttpServletResponse missing = call(filter, "/v1/chat/completions", null, null);
    MockHttpServletResponse wrong = call(filter, "/v1/ferret/ask", "Authorization", "Bearer nope");

    assertThat(missing.getStatus()).isEqualTo(401);
    assertThat(missing.getHeader("WWW-Authenticate")).isEqualTo("Bearer");
    assertThat(json.readTree(missing.getContentAsString()).at("/error/code").stringValue())
        .isEqualTo("invalid_api_key");
    assertThat(json.readTree(missing.getContentAsString()).at("/error/type").stringValue())
        .isEqualTo("authentication_error");
    assertThat(wrong.getStatus()).isEqualTo(401);
    assertThat(call(filter, "/v1/models", "Authorization", "Bearer s3cret").getStatus())
        .isEqualTo(200);
    assertThat(call(filter, "/v1/models", "X-Api-Key", "other").getStatus()).isEqualTo(200);
  }

  @Test
  void leavesHealthMetricsAndThePageOpen() throws Exception {
    ApiKeyFilter filter = new ApiKeyFilter(new AuthProperties(List.of("s3cret")), json);

    assertThat(call(filter, "/actuator/health", null, null).getStatus()).isEqualTo(200);
    assertThat(call(filter, "/", null, null).getStatus()).isEqualTo(200);
    assertThat(call(filter, "/openapi.json", null, null).getStatus()).isEqualTo(200);
    assertThat(call(filter, "/docs", null, null).getStatus()).isEqualTo(200);
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.AuthProperties;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * When API keys are configured, every {@code /v1/...} request must carry one, as OpenAI clients
 * send it ({@code Authorization: Bearer <key>}) or as {@code X-Api-Key: <key>}; otherwise 401 with
 * the OpenAI error shape ({@code invalid_api_key}). Health, metrics and the web page stay open.
 * Keys are compared by their SHA-256 digests in constant time. Runs before the body is read ({@link
 * RequestBodyFilter}): a client without a key never gets a body buffered.
 */
@Component
@Order(Ordered.LOWEST_PRECEDENCE - 10)
class ApiKeyFilter extends OncePerRequestFilter {

  private final List<byte[]> digests;
  private final JsonMapper json;

  ApiKeyFilter(AuthProperties auth, JsonMapper json) {
    this.digests = auth.apiKeys().stream().map(ApiKeyFilter::sha256).toList();
    this.json = json;
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    return digests.isEmpty() || !request.getRequestURI().startsWith("/v1/");
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String key = presentedKey(request);
    if (key == null || !accepted(key)) {
      byte[] body =
          json.writeValueAsBytes(
              ChunkFormat.errorBody(
                  json,
                  401,
                  "invalid_api_key",
                  null,
                  key == null
                      ? "an API key is required: send Authorization: Bearer <key>"
                      : "the API key is not valid"));
      response.setStatus(401);
      response.setHeader("WWW-Authenticate", "Bearer");
      response.setContentType("application/json");
      response.setContentLength(body.length);
      response.getOutputStream().write(body);
      return;
    }
    chain.doFilter(request, response);
  }

  private static String presentedKey(HttpServletRequest request) {
    String authorization = request.getHeader("Authorization");
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).trim();
    }
    String header = request.getHeader("X-Api-Key");
    return header == null ? null : header.trim();
  }

  private boolean accepted(String key) {
    byte[] presented = sha256(key);
    boolean ok = false;
    for (byte[] digest : digests) {
      ok |= MessageDigest.isEqual(digest, presented); // no early exit
    }
    return ok;
  }

  private static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

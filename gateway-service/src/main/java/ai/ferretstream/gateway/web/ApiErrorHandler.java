package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.RequestRejected;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.ErrorResponse;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Answers every failure of the API in the OpenAI error shape with its HTTP status. A client that
 * went away is not a failure of the gateway: it is counted and logged in one line ({@link
 * ClientAborts}), and nothing is written to it.
 */
@RestControllerAdvice
class ApiErrorHandler {

  private static final Logger log = LoggerFactory.getLogger(ApiErrorHandler.class);

  private final JsonMapper json;
  private final ClientAborts aborts;

  ApiErrorHandler(JsonMapper json, MeterRegistry meters) {
    this.json = json;
    this.aborts = new ClientAborts(meters);
  }

  @ExceptionHandler(ApiError.class)
  ResponseEntity<byte[]> apiError(ApiError error) {
    return body(
        error.status(), error.code(), error.param(), error.getMessage(), error.retryAfterSeconds());
  }

  @ExceptionHandler(RequestRejected.class)
  ResponseEntity<byte[]> rejected(RequestRejected rejected) {
    return apiError(ApiError.of(rejected));
  }

  /** Spring MVC's own errors (unknown path, wrong method, ...) keep their status. */
  @ExceptionHandler(Exception.class)
  ResponseEntity<byte[]> other(Exception e) {
    if (ClientAborts.isAbort(e)) {
      // the request body arrives before the endpoints run, so what breaks here is the answer
      aborts.closed(ClientAborts.Phase.WRITE, e);
      return null;
    }
    if (e instanceof ErrorResponse response && response.getStatusCode().value() < 500) {
      int status = response.getStatusCode().value();
      String detail = response.getBody().getDetail();
      return body(
          status,
          status == 404 ? "not_found" : "invalid_request",
          null,
          detail == null ? e.getMessage() : detail,
          0);
    }
    log.error("request failed", e);
    return body(500, "internal_error", null, "the gateway failed to handle the request", 0);
  }

  private ResponseEntity<byte[]> body(
      int status, String code, String param, String message, int retryAfterSeconds) {
    ObjectNode root = ChunkFormat.errorBody(json, status, code, param, message);
    ResponseEntity.BodyBuilder builder =
        ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON);
    if (retryAfterSeconds > 0) {
      builder.header(HttpHeaders.RETRY_AFTER, Integer.toString(retryAfterSeconds));
    }
    return builder.body(json.writeValueAsBytes(root));
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.RequestRejected;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
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
  ResponseEntity<byte[]> other(
      Exception e, HttpServletRequest request, HttpServletResponse response) {
    if (ClientAborts.isAbort(e)) {
      // the request body arrives before the endpoints run, so what breaks here is the answer
      aborts.closed(ClientAborts.Phase.WRITE, e);
      return null;
    }
    if (isErrorPage(request) && streamBrokeOff(request, response)) {
      // the container's error dispatch after a streamed answer broke off (the client went away
      // mid-stream: ClientConnection counted it): nothing can be written any more, and the
      // failure was handled where it happened
      log.debug(
          "error dispatch of {} after its answer was committed: {}",
          request.getRequestURI(),
          e.toString());
      return null;
    }
    if (e instanceof ErrorResponse failure && failure.getStatusCode().value() < 500) {
      int status = failure.getStatusCode().value();
      String detail = failure.getBody().getDetail();
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

  /**
   * Whether this is the container's error page for a failed request (Tomcat dispatches it as ERROR,
   * or as an include when the response was already committed).
   */
  private static boolean isErrorPage(HttpServletRequest request) {
    return request.getDispatcherType() == DispatcherType.ERROR
        || request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE) != null;
  }

  /**
   * Whether this error dispatch follows an answer that had begun (committed, or a stream) or a
   * client that went away: no error body can reach the client.
   */
  private static boolean streamBrokeOff(HttpServletRequest request, HttpServletResponse response) {
    String type = response.getContentType();
    return response.isCommitted()
        || (type != null && type.startsWith(MediaType.TEXT_EVENT_STREAM_VALUE))
        || (request.getAttribute(RequestDispatcher.ERROR_EXCEPTION) instanceof Throwable original
            && ClientAborts.isAbort(original));
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

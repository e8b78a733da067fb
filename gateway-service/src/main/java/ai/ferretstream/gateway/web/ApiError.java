package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.RequestRejected;

/**
 * An error answered to the client in the OpenAI shape {@code {"error":{"message","type","param",
 * "code"}}}.
 */
final class ApiError extends RuntimeException {

  private final int status;
  private final String type;
  private final String code;
  private final String param;
  private final int retryAfterSeconds;

  ApiError(int status, String code, String param, String message, int retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.type = typeOf(status);
    this.code = code;
    this.param = param;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static ApiError of(RequestRejected rejected) {
    int status =
        switch (rejected.reason()) {
          case INVALID -> 400;
          case TOO_LARGE -> 413;
          case NOT_FOUND -> 404;
        };
    return new ApiError(status, rejected.code(), rejected.param(), rejected.getMessage(), 0);
  }

  static ApiError badRequest(String code, String param, String message) {
    return new ApiError(400, code, param, message, 0);
  }

  static ApiError tooLarge(String code, String message) {
    return new ApiError(413, code, null, message, 0);
  }

  static ApiError unavailable(String code, String message) {
    return new ApiError(503, code, null, message, 1);
  }

  static ApiError tooManyRequests(String message) {
    return new ApiError(429, "rate_limit_exceeded", null, message, 1);
  }

  /** The OpenAI error type of an HTTP status. */
  static String typeOf(int status) {
    if (status == 429) {
      return "rate_limit_error";
    }
    if (status == 404) {
      return "not_found_error";
    }
    if (status == 401) {
      return "authentication_error";
    }
    return status < 500 ? "invalid_request_error" : "server_error";
  }

  int status() {
    return status;
  }

  String type() {
    return type;
  }

  String code() {
    return code;
  }

  String param() {
    return param;
  }

  /** Seconds for a {@code Retry-After} header; 0 = none. */
  int retryAfterSeconds() {
    return retryAfterSeconds;
  }
}

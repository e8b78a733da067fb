package ai.ferretstream.gateway.web;

import ai.ferretstream.proto.v1.Error;

/** Maps the pipeline's error codes to HTTP statuses. */
final class ErrorCodes {

  private ErrorCodes() {}

  /**
   * The HTTP status for an error event: the client's fault is 4xx (a conversation longer than the
   * model's context, {@code context_length_exceeded}, is 400 as in OpenAI's API), a model server
   * refusing the input is 502, an exceeded deadline 504, a retryable failure 503, anything else
   * 500.
   */
  static int status(Error error) {
    return switch (error.getCode()) {
      case "invalid_image",
          "invalid_request",
          "invalid_region",
          "unsupported_region",
          "unsupported_image_url",
          "context_length_exceeded" ->
          400;
      case "image_too_large" -> 413;
      case "deadline_exceeded" -> 504;
      case "inference_rejected" -> 502;
      default -> error.getRetryable() ? 503 : 500;
    };
  }
}

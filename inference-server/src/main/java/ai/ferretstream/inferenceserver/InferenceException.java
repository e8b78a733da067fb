package ai.ferretstream.inferenceserver;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A request the server refuses or cannot complete, with the gRPC status code it maps to and a
 * message that says what differs from what the model expects.
 */
final class InferenceException extends RuntimeException {

  private final Status.Code code;

  InferenceException(Status.Code code, String message) {
    super(message);
    this.code = code;
  }

  InferenceException(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The same status and description as {@code e} (from a shared helper that speaks gRPC). */
  static InferenceException of(io.grpc.StatusRuntimeException e) {
    return new InferenceException(e.getStatus().getCode(), e.getStatus().getDescription(), e);
  }

  static InferenceException invalid(String message) {
    return new InferenceException(Status.Code.INVALID_ARGUMENT, message);
  }

  Status.Code code() {
    return code;
  }

  StatusRuntimeException toStatus() {
    return Status.fromCode(code).withDescription(getMessage()).asRuntimeException();
  }
}

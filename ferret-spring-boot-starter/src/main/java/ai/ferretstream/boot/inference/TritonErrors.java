package ai.ferretstream.boot.inference;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Maps gRPC status from Triton to our failure classes: transient (the Kafka error handler retries
 * with backoff) or permanent (dead-lettered at once, the client told).
 */
public final class TritonErrors {

  private TritonErrors() {}

  public static boolean retryable(Status.Code code) {
    return switch (code) {
      case UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED -> true;
      default -> false;
    };
  }

  /** The domain failure for a failed call to {@code model}. */
  public static RuntimeException classify(String model, StatusRuntimeException e) {
    Status status = e.getStatus();
    String message =
        "inference call to " + model + " failed: " + status.getCode() + describe(status);
    if (retryable(status.getCode())) {
      return new TransientFailure(message, e);
    }
    return new PermanentFailure("inference_rejected", message, e);
  }

  private static String describe(Status status) {
    return status.getDescription() == null ? "" : " (" + status.getDescription() + ")";
  }
}

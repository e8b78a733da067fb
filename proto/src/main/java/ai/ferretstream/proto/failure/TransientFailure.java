package ai.ferretstream.proto.failure;

/** A failure that may pass on retry (inference server unavailable, overloaded). */
public class TransientFailure extends RuntimeException {

  public TransientFailure(String message) {
    super(message);
  }

  public TransientFailure(String message, Throwable cause) {
    super(message, cause);
  }
}

package ai.ferretstream.proto.failure;

/**
 * A failure that retrying cannot mend (bad input, a model rejecting the tensor). The record is
 * dead-lettered at once and the client gets an error event with {@link #code()}.
 */
public class PermanentFailure extends RuntimeException {

  private final String code;

  public PermanentFailure(String code, String message) {
    super(message);
    this.code = code;
  }

  public PermanentFailure(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** Stable machine-readable error code, e.g. {@code invalid_image}. */
  public String code() {
    return code;
  }
}

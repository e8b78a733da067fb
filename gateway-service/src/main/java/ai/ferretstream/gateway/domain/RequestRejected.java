package ai.ferretstream.gateway.domain;

/**
 * A client request the gateway refuses before anything is published. The web layer turns it into an
 * OpenAI-style error body: {@link Reason#INVALID} is HTTP 400, {@link Reason#TOO_LARGE} 413, {@link
 * Reason#NOT_FOUND} 404.
 */
public final class RequestRejected extends RuntimeException {

  /** Why the request was refused. */
  public enum Reason {
    INVALID,
    TOO_LARGE,
    NOT_FOUND
  }

  private final Reason reason;
  private final String code;
  private final String param;

  /**
   * @param reason the class of refusal (decides the HTTP status)
   * @param code stable machine-readable code, e.g. {@code invalid_image}
   * @param param the offending request field as a JSON path, or {@code null}
   * @param message human-readable reason
   */
  public RequestRejected(Reason reason, String code, String param, String message) {
    super(message, null, false, false);
    this.reason = reason;
    this.code = code;
    this.param = param;
  }

  /** A 400 with the code {@code invalid_request}. */
  public static RequestRejected invalid(String param, String message) {
    return new RequestRejected(Reason.INVALID, "invalid_request", param, message);
  }

  public Reason reason() {
    return reason;
  }

  public String code() {
    return code;
  }

  public String param() {
    return param;
  }
}

package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.proto.failure.PermanentFailure;
import java.util.Locale;

/**
 * An image the tiler will not process. The {@link #code()} is what the client sees ({@code
 * invalid_image} → HTTP 400, {@code image_too_large} → 413); the {@link #reason()} is the specific
 * cause, for the message and the refusal metrics.
 */
public final class ImageRefused extends PermanentFailure {

  /** Error code of input that is not a decodable image. */
  public static final String INVALID = "invalid_image";

  /** Error code of images above the size limits. */
  public static final String TOO_LARGE = "image_too_large";

  /** Why an image was refused. */
  public enum Reason {
    EMPTY(INVALID),
    UNSUPPORTED_FORMAT(INVALID),
    BAD_DIMENSIONS(INVALID),
    TRUNCATED(INVALID),
    CORRUPT(INVALID),
    TOO_MANY_BYTES(TOO_LARGE),
    TOO_MANY_PIXELS(TOO_LARGE);

    private final String code;

    Reason(String code) {
      this.code = code;
    }

    /** The metric tag, e.g. {@code too_many_pixels}. */
    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;

  public ImageRefused(Reason reason, String message) {
    super(reason.code, message);
    this.reason = reason;
  }

  public ImageRefused(Reason reason, String message, Throwable cause) {
    super(reason.code, message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}

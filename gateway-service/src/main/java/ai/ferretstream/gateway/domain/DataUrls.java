package ai.ferretstream.gateway.domain;

import java.util.Base64;
import java.util.Locale;

/** Reads images sent inline as {@code data:image/...;base64,...} URLs (RFC 2397). */
public final class DataUrls {

  private DataUrls() {}

  /**
   * Decodes an image URL.
   *
   * @param url the {@code image_url.url} value
   * @param param the request field, for error messages
   * @param maxBytes the largest decoded image accepted
   * @throws RequestRejected for http(s) URLs ({@code unsupported_image_url}: this class does not
   *     fetch; callers route them to the image fetcher), other non-data URLs ({@code
   *     invalid_image_url}), malformed or non-image data URLs, and images larger than {@code
   *     maxBytes}
   */
  public static ImageData decode(String url, String param, long maxBytes) {
    String lower = url.length() > 16 ? url.substring(0, 16).toLowerCase(Locale.ROOT) : url;
    if (lower.startsWith("http://") || lower.startsWith("https://")) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "unsupported_image_url",
          param,
          "http(s) image URLs are not supported yet; send the image inline as a"
              + " data:image/...;base64,... URL");
    }
    if (!lower.startsWith("data:")) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "invalid_image_url",
          param,
          "the image URL must be a data:image/...;base64,... URL or an http(s) URL");
    }
    int comma = url.indexOf(',');
    if (comma < 0) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID, "invalid_image", param, "the data URL has no ',' part");
    }
    String meta = url.substring("data:".length(), comma);
    String[] parts = meta.split(";");
    String mediaType = parts[0].trim().toLowerCase(Locale.ROOT);
    boolean base64 = parts.length > 1 && parts[parts.length - 1].trim().equalsIgnoreCase("base64");
    if (!base64) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "invalid_image",
          param,
          "the data URL must be base64-encoded (data:image/...;base64,...)");
    }
    if (!mediaType.startsWith("image/") || mediaType.length() == "image/".length()) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "invalid_image",
          param,
          "the data URL has media type '"
              + (mediaType.isEmpty() ? "(none)" : mediaType)
              + "'; an image/* type is required");
    }
    int encodedLength = url.length() - comma - 1;
    long decodedEstimate = encodedLength / 4L * 3L;
    if (decodedEstimate - 2 > maxBytes) {
      throw tooLarge(param, decodedEstimate, maxBytes);
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(url.substring(comma + 1));
    } catch (IllegalArgumentException e) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "invalid_image",
          param,
          "the data URL is not valid base64: " + e.getMessage());
    }
    if (bytes.length == 0) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID, "invalid_image", param, "the image is empty");
    }
    if (bytes.length > maxBytes) {
      throw tooLarge(param, bytes.length, maxBytes);
    }
    return new ImageData(bytes, mediaType);
  }

  private static RequestRejected tooLarge(String param, long size, long maxBytes) {
    return new RequestRejected(
        RequestRejected.Reason.TOO_LARGE,
        "image_too_large",
        param,
        "the image is about " + size + " bytes; at most " + maxBytes + " bytes are accepted");
  }
}

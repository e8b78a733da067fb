package ai.ferretstream.gateway.web;

import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;

/**
 * The request body types the endpoints take. A body without a {@code Content-Type} is read as JSON
 * (as OpenAI's own API does); any other type is refused with 415 and the types accepted, never read
 * as JSON.
 */
final class ContentTypes {

  private ContentTypes() {}

  /** The body's type; null when the request names none. 400 when it is not a media type. */
  static MediaType of(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      return null;
    }
    try {
      return MediaType.parseMediaType(contentType);
    } catch (InvalidMediaTypeException e) {
      throw ApiError.badRequest(
          "invalid_content_type",
          null,
          "the Content-Type '" + contentType + "' is not a valid media type: " + e.getMessage());
    }
  }

  /** {@code application/json} or a {@code +json} type such as {@code application/vnd.x+json}. */
  static boolean isJson(MediaType type) {
    return type == null
        || MediaType.APPLICATION_JSON.equalsTypeAndSubtype(type)
        || ("application".equals(type.getType()) && "json".equals(type.getSubtypeSuffix()));
  }

  static boolean isMultipartForm(MediaType type) {
    return type != null && MediaType.MULTIPART_FORM_DATA.equalsTypeAndSubtype(type);
  }

  /** 415 naming the type sent and those accepted. */
  static ApiError unsupported(String contentType, String accepted) {
    return new ApiError(
        415,
        "unsupported_media_type",
        null,
        "the Content-Type '" + contentType + "' is not supported here; send " + accepted,
        0);
  }
}

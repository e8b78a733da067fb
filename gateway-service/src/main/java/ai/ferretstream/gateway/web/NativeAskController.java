package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.RequestRejected;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.multipart.MultipartHttpServletRequest;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/ferret/ask}: the native API, with regions of any shape in pixels (see {@link
 * NativeAskReader}) and a per-request deadline within the server's maximum. The body is JSON, or
 * {@code multipart/form-data} with the JSON in the part {@code request} and the image file in the
 * part {@code image}. The answer is streamed as named server-sent events or returned as one JSON
 * body ({@link NativeAnswer}).
 */
@RestController
class NativeAskController {

  private final NativeAskReader reader;
  private final AskDispatch dispatch;
  private final GatewayProperties properties;
  private final JsonMapper json;

  NativeAskController(
      ChatRequestReader chat, JsonMapper json, GatewayProperties properties, AskDispatch dispatch) {
    this.reader = new NativeAskReader(chat, properties);
    this.json = json;
    this.properties = properties;
    this.dispatch = dispatch;
  }

  @PostMapping("/v1/ferret/ask")
  void ask(HttpServletRequest http, HttpServletResponse response)
      throws IOException, ServletException {
    NativeAskReader.Ask ask;
    try {
      ask = isMultipart(http) ? readMultipart(http) : reader.read(dispatch.body(http));
    } catch (RequestRejected rejected) {
      throw ApiError.of(rejected);
    }
    boolean stream = ask.request().stream();
    dispatch.dispatch(
        http,
        response,
        ask.request(),
        ask.timeout(),
        stream,
        (id, now, connection, writer) -> new NativeAnswer(id, connection, writer, json, stream));
  }

  private static boolean isMultipart(HttpServletRequest http) {
    String type = http.getContentType();
    return type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/");
  }

  private NativeAskReader.Ask readMultipart(HttpServletRequest http)
      throws IOException, ServletException {
    long max = properties.limits().maxBodySize().toBytes();
    if (http.getContentLengthLong() > max) {
      throw AskDispatch.bodyTooLarge(max);
    }
    long maxImage = properties.limits().maxImageBytes().toBytes();
    if (http instanceof MultipartHttpServletRequest multipart) {
      // Spring's multipart resolver has parsed the body: files, or form fields for the JSON
      MultipartFile imageFile = multipart.getFile("image");
      MultipartFile requestFile = multipart.getFile("request");
      String requestField = multipart.getParameter("request");
      if (imageFile == null) {
        throw RequestRejected.invalid("image", "the multipart file part 'image' is missing");
      }
      byte[] request;
      if (requestFile != null) {
        request = requestFile.getBytes();
      } else if (requestField != null) {
        request = requestField.getBytes(StandardCharsets.UTF_8);
      } else {
        throw RequestRejected.invalid("request", "the multipart part 'request' (JSON) is missing");
      }
      checkImageSize(imageFile.getSize(), maxImage);
      return reader.read(request, imageFile.getBytes());
    }
    Part request = http.getPart("request");
    Part image = http.getPart("image");
    if (request == null) {
      throw RequestRejected.invalid("request", "the multipart part 'request' (JSON) is missing");
    }
    if (image == null) {
      throw RequestRejected.invalid("image", "the multipart file part 'image' is missing");
    }
    checkImageSize(image.getSize(), maxImage);
    return reader.read(bytes(request, max), bytes(image, maxImage));
  }

  private static void checkImageSize(long size, long max) {
    if (size > max) {
      throw new RequestRejected(
          RequestRejected.Reason.TOO_LARGE,
          "image_too_large",
          "image",
          "the image is " + size + " bytes; at most " + max);
    }
  }

  private static byte[] bytes(Part part, long max) throws IOException {
    if (part.getSize() > max) {
      throw AskDispatch.bodyTooLarge(max);
    }
    try (InputStream in = part.getInputStream()) {
      return in.readNBytes((int) Math.min(max, Integer.MAX_VALUE - 8));
    }
  }
}

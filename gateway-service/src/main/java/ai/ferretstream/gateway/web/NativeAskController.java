package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.RequestRejected;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/ferret/ask}: the native API, with regions of any shape in pixels (see {@link
 * NativeAskReader}) and a per-request deadline within the server's maximum. The body is JSON, or
 * {@code multipart/form-data} with the JSON in the part {@code request} and the image file in the
 * part {@code image} (parsed from the body, which has arrived before the endpoint runs: {@link
 * RequestBodyFilter}); other content types get 415. The answer is streamed as named server-sent
 * events or returned as one JSON body ({@link NativeAnswer}).
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
  void ask(HttpServletRequest http, HttpServletResponse response) throws IOException {
    NativeAskReader.Ask ask;
    try {
      MediaType type = ContentTypes.of(http.getContentType());
      if (ContentTypes.isMultipartForm(type)) {
        ask = readMultipart(dispatch.body(http), type.getParameter("boundary"));
      } else if (ContentTypes.isJson(type)) {
        ask = reader.read(dispatch.body(http));
      } else {
        throw ContentTypes.unsupported(
            http.getContentType(),
            "application/json, or multipart/form-data with the parts 'request' and 'image'");
      }
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

  /** The parts 'request' (JSON, a field or a file) and 'image' (the file) of an upload. */
  private NativeAskReader.Ask readMultipart(byte[] body, String boundary) {
    MultipartForm form = MultipartForm.parse(body, boundary == null ? null : unquote(boundary));
    MultipartForm.Part request = form.part("request");
    MultipartForm.Part image = form.part("image");
    if (image == null) {
      throw RequestRejected.invalid("image", "the multipart file part 'image' is missing");
    }
    if (request == null) {
      throw RequestRejected.invalid("request", "the multipart part 'request' (JSON) is missing");
    }
    long maxImage = properties.limits().maxImageBytes().toBytes();
    if (image.content().length > maxImage) {
      throw new RequestRejected(
          RequestRejected.Reason.TOO_LARGE,
          "image_too_large",
          "image",
          "the image is " + image.content().length + " bytes; at most " + maxImage);
    }
    return reader.read(request.content(), image.content());
  }

  private static String unquote(String boundary) {
    return boundary.length() >= 2 && boundary.startsWith("\"") && boundary.endsWith("\"")
        ? boundary.substring(1, boundary.length() - 1)
        : boundary;
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.RequestRejected;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/chat/completions}: validates the request, publishes it to {@code ferret.requests}
 * with this instance's reply partition ({@link AskDispatch}), and answers from the request's answer
 * events, streamed as server-sent events or as one body. The body must be JSON ({@code
 * application/json}, or no {@code Content-Type}); other types get 415.
 */
@RestController
class ChatCompletionsController {

  private final ChatRequestReader reader;
  private final AskDispatch dispatch;
  private final GatewayProperties properties;
  private final JsonMapper json;

  ChatCompletionsController(
      ChatRequestReader reader,
      JsonMapper json,
      GatewayProperties properties,
      AskDispatch dispatch) {
    this.reader = reader;
    this.json = json;
    this.properties = properties;
    this.dispatch = dispatch;
  }

  @PostMapping("/v1/chat/completions")
  void complete(HttpServletRequest http, HttpServletResponse response) throws IOException {
    ChatRequest request;
    try {
      if (!ContentTypes.isJson(ContentTypes.of(http.getContentType()))) {
        throw ContentTypes.unsupported(http.getContentType(), "application/json");
      }
      request = reader.read(dispatch.body(http));
    } catch (RequestRejected rejected) {
      throw ApiError.of(rejected);
    }
    dispatch.dispatch(
        http,
        response,
        request,
        properties.requestTimeout(),
        request.stream(),
        (id, now, connection, writer) -> {
          ChunkFormat chunks = new ChunkFormat(json, id, now / 1000, request.model());
          return request.stream()
              ? new StreamingAnswer(connection, writer, chunks, request.includeUsage())
              : new CompletionAnswer(connection, writer, chunks, json);
        });
  }
}

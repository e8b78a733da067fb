package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.GroundedBox;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;

/**
 * Collects one request's answer and writes it as a single {@code chat.completion} body, or as an
 * OpenAI error body with the HTTP status of the error event.
 */
final class CompletionAnswer implements AnswerSink {

  private final ClientConnection connection;
  private final OrderedWriter writer;
  private final ChunkFormat chunks;
  private final JsonMapper json;
  private final StringBuilder text = new StringBuilder();
  private final List<GroundedBox> boxes = new ArrayList<>();

  CompletionAnswer(
      ClientConnection connection, OrderedWriter writer, ChunkFormat chunks, JsonMapper json) {
    this.connection = connection;
    this.writer = writer;
    this.chunks = chunks;
    this.json = json;
  }

  @Override
  public void event(AnswerEvent event) {
    switch (event.getEventCase()) {
      case DELTA -> text.append(event.getDelta().getText());
      case BOX -> boxes.add(event.getBox());
      default -> {
        // nothing else contributes to the body
      }
    }
  }

  @Override
  public void end(AnswerEvent event) {
    int status;
    byte[] body;
    if (event.hasDone()) {
      status = 200;
      body =
          chunks.completion(
              text.toString(),
              boxes,
              event.getDone().getFinishReason(),
              event.getDone().getUsage(),
              event.getDone().getTimingsMap());
    } else {
      status = ErrorCodes.status(event.getError());
      body = ChunkFormat.errorBody(json, event.getError());
    }
    writer.submit(() -> connection.respondJson(status, body));
  }
}

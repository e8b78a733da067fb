package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.GroundedBox;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The native API's answer. Streamed, as server-sent events with names:
 *
 * <pre>
 * event: delta   data: {"text": "..."}
 * event: box     data: {"phrase": "...", "box": [x1, y1, x2, y2] (0..999), "box_pixels": [...]}
 * event: done    data: {"id", "finish_reason", "usage": {...}, "timings": {stage: unix ms}}
 * event: error   data: {"id", "status", "code", "message", "retryable"}
 * </pre>
 *
 * Not streamed, one JSON body {@code {"id", "text", "boxes": [...], "finish_reason", "usage",
 * "timings"}} or the OpenAI error shape with the error's HTTP status.
 */
final class NativeAnswer implements AnswerSink {

  private final String id;
  private final ClientConnection connection;
  private final OrderedWriter writer;
  private final JsonMapper json;
  private final boolean stream;
  private final StringBuilder text = new StringBuilder();
  private final List<GroundedBox> boxes = new ArrayList<>();

  NativeAnswer(
      String id,
      ClientConnection connection,
      OrderedWriter writer,
      JsonMapper json,
      boolean stream) {
    this.id = id;
    this.connection = connection;
    this.writer = writer;
    this.json = json;
    this.stream = stream;
  }

  @Override
  public void event(AnswerEvent event) {
    switch (event.getEventCase()) {
      case DELTA -> {
        String piece = event.getDelta().getText();
        if (piece.isEmpty()) {
          return;
        }
        if (stream) {
          ObjectNode data = json.createObjectNode().put("text", piece);
          writer.submit(() -> connection.write(sse("delta", data)));
        } else {
          text.append(piece);
        }
      }
      case BOX -> {
        if (stream) {
          ObjectNode data = box(event.getBox());
          writer.submit(() -> connection.write(sse("box", data)));
        } else {
          boxes.add(event.getBox());
        }
      }
      default -> {
        // nothing else is answered
      }
    }
  }

  @Override
  public void end(AnswerEvent event) {
    if (stream) {
      ObjectNode data = event.hasDone() ? done(event.getDone()) : error(event);
      String name = event.hasDone() ? "done" : "error";
      writer.submit(
          () -> {
            connection.write(sse(name, data));
            connection.complete();
          });
      return;
    }
    int status;
    byte[] body;
    if (event.hasDone()) {
      status = 200;
      ObjectNode answer = done(event.getDone());
      answer.put("text", text.toString());
      ArrayNode list = answer.putArray("boxes");
      boxes.forEach(b -> list.add(box(b)));
      body = json.writeValueAsBytes(answer);
    } else {
      status = ErrorCodes.status(event.getError());
      body = ChunkFormat.errorBody(json, event.getError());
    }
    writer.submit(() -> connection.respondJson(status, body));
  }

  private ObjectNode box(GroundedBox box) {
    ObjectNode node = json.createObjectNode();
    node.put("phrase", box.getPhrase());
    corners(node.putArray("box"), box.getBox999());
    corners(node.putArray("box_pixels"), box.getBoxPixels());
    return node;
  }

  private static void corners(ArrayNode array, Box box) {
    array.add(box.getX1()).add(box.getY1()).add(box.getX2()).add(box.getY2());
  }

  private ObjectNode done(Done done) {
    ObjectNode node = json.createObjectNode();
    node.put("id", id);
    node.put("finish_reason", done.getFinishReason());
    ObjectNode usage = node.putObject("usage");
    usage.put("prompt_tokens", done.getUsage().getPromptTokens());
    usage.put("completion_tokens", done.getUsage().getCompletionTokens());
    usage.put("image_tokens", done.getUsage().getImageTokens());
    ObjectNode timings = node.putObject("timings");
    done.getTimingsMap().entrySet().stream()
        .sorted(java.util.Map.Entry.comparingByValue())
        .forEach(e -> timings.put(e.getKey(), e.getValue()));
    return node;
  }

  private ObjectNode error(AnswerEvent event) {
    ObjectNode node = json.createObjectNode();
    node.put("id", id);
    node.put("status", ErrorCodes.status(event.getError()));
    node.put("code", event.getError().getCode());
    node.put("message", event.getError().getMessage());
    node.put("retryable", event.getError().getRetryable());
    return node;
  }

  private byte[] sse(String name, ObjectNode data) {
    return ("event: " + name + "\ndata: " + json.writeValueAsString(data) + "\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }
}

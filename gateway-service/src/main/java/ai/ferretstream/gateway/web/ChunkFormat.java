package ai.ferretstream.gateway.web;

import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Error;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.Usage;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes one request's answer in the OpenAI chat completion shapes: the server-sent event lines of
 * a stream ({@code data: {json}\n\n}, ending with {@code data: [DONE]}) and the single body of a
 * non-streamed answer. Boxes ride in an extension field {@code boxes}: {@code [{"phrase", "box":
 * [x1, y1, x2, y2] (0..999), "box_pixels": [...]}]}.
 */
final class ChunkFormat {

  static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  private final JsonMapper json;
  private final String id;
  private final long created;
  private final String model;

  /**
   * @param json the mapper
   * @param id the request id ({@code chatcmpl-...})
   * @param createdSeconds unix seconds of acceptance
   * @param model the model name to answer with
   */
  ChunkFormat(JsonMapper json, String id, long createdSeconds, String model) {
    this.json = json;
    this.id = id;
    this.created = createdSeconds;
    this.model = model;
  }

  /** The first chunk: the assistant role with empty content. */
  byte[] roleChunk() {
    ObjectNode delta = json.createObjectNode();
    delta.put("role", "assistant");
    delta.put("content", "");
    return event(chunk(delta, null));
  }

  byte[] contentChunk(String text) {
    ObjectNode delta = json.createObjectNode();
    delta.put("content", text);
    return event(chunk(delta, null));
  }

  /** A chunk with no content whose delta carries one box. */
  byte[] boxChunk(GroundedBox box) {
    ObjectNode delta = json.createObjectNode();
    boxes(delta.putArray("boxes"), List.of(box));
    return event(chunk(delta, null));
  }

  /** The chunk with an empty delta and the finish reason. */
  byte[] finishChunk(String finishReason) {
    return event(chunk(json.createObjectNode(), finishReason));
  }

  /** The extra chunk of {@code stream_options.include_usage}: no choices, the usage. */
  byte[] usageChunk(Usage usage) {
    return usageChunk(usage, Map.of());
  }

  /**
   * The usage chunk with the request's stage timestamps as the extension field {@code
   * ferret_timings} (milliseconds since the gateway accepted the request, by stage).
   */
  byte[] usageChunk(Usage usage, Map<String, Long> timings) {
    ObjectNode root = header("chat.completion.chunk");
    root.putArray("choices");
    usage(root.putObject("usage"), usage);
    timings(root, timings);
    return event(root);
  }

  byte[] errorEvent(int status, Error error) {
    return event(errorBody(json, status, error.getCode(), null, error.getMessage()));
  }

  /** The body of a non-streamed answer. */
  byte[] completion(String content, List<GroundedBox> boxes, String finishReason, Usage usage) {
    return completion(content, boxes, finishReason, usage, Map.of());
  }

  /** The body of a non-streamed answer, with {@code ferret_timings} as in the usage chunk. */
  byte[] completion(
      String content,
      List<GroundedBox> boxes,
      String finishReason,
      Usage usage,
      Map<String, Long> timings) {
    ObjectNode root = header("chat.completion");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", content);
    boxes(message.putArray("boxes"), boxes);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason(finishReason));
    usage(root.putObject("usage"), usage);
    timings(root, timings);
    return json.writeValueAsBytes(root);
  }

  /** Stage timestamps relative to the earliest one, in time order; nothing when there are none. */
  private static void timings(ObjectNode root, Map<String, Long> timings) {
    if (timings.isEmpty()) {
      return;
    }
    long start = Collections.min(timings.values());
    ObjectNode node = root.putObject("ferret_timings");
    timings.entrySet().stream()
        .sorted(
            Map.Entry.<String, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .forEach(e -> node.put(e.getKey(), e.getValue() - start));
  }

  /** The OpenAI error body of a pipeline error event, with the event's HTTP status. */
  static byte[] errorBody(JsonMapper json, ai.ferretstream.proto.v1.Error error) {
    return json.writeValueAsBytes(
        errorBody(json, ErrorCodes.status(error), error.getCode(), null, error.getMessage()));
  }

  /** {@code {"error":{"message","type","param","code"}}}. */
  static ObjectNode errorBody(
      JsonMapper json, int status, String code, String param, String message) {
    ObjectNode root = json.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", ApiError.typeOf(status));
    if (param == null) {
      error.putNull("param");
    } else {
      error.put("param", param);
    }
    error.put("code", code);
    return root;
  }

  private ObjectNode chunk(ObjectNode delta, String finishReason) {
    ObjectNode root = header("chat.completion.chunk");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    choice.set("delta", delta);
    choice.putNull("logprobs");
    if (finishReason == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finishReason(finishReason));
    }
    return root;
  }

  private ObjectNode header(String object) {
    ObjectNode root = json.createObjectNode();
    root.put("id", id);
    root.put("object", object);
    root.put("created", created);
    root.put("model", model);
    return root;
  }

  private static String finishReason(String reason) {
    return reason == null || reason.isEmpty() ? "stop" : reason;
  }

  private static void boxes(ArrayNode array, List<GroundedBox> boxes) {
    for (GroundedBox box : boxes) {
      ObjectNode node = array.addObject();
      node.put("phrase", box.getPhrase());
      coordinates(node.putArray("box"), box.getBox999());
      coordinates(node.putArray("box_pixels"), box.getBoxPixels());
    }
  }

  private static void coordinates(ArrayNode array, Box box) {
    array.add(box.getX1()).add(box.getY1()).add(box.getX2()).add(box.getY2());
  }

  private static void usage(ObjectNode node, Usage usage) {
    node.put("prompt_tokens", usage.getPromptTokens());
    node.put("completion_tokens", usage.getCompletionTokens());
    node.put("total_tokens", usage.getPromptTokens() + usage.getCompletionTokens());
  }

  private byte[] event(ObjectNode node) {
    byte[] body = json.writeValueAsBytes(node);
    byte[] line = new byte[body.length + 8];
    line[0] = 'd';
    line[1] = 'a';
    line[2] = 't';
    line[3] = 'a';
    line[4] = ':';
    line[5] = ' ';
    System.arraycopy(body, 0, line, 6, body.length);
    line[line.length - 2] = '\n';
    line[line.length - 1] = '\n';
    return line;
  }
}

package ai.ferretstream.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code ferret ask}: sends one question about one image to a gateway's chat completions API and
 * prints the answer as it streams in, then the boxes in pixel coordinates.
 */
final class AskCommand {

  /** What to ask and where. */
  record Options(
      URI gateway,
      Path image,
      String question,
      boolean stream,
      boolean grounding,
      int maxTokens,
      String model,
      String apiKey) {}

  private final HttpClient http;
  private final JsonMapper json;
  private final PrintStream out;
  private final PrintStream err;

  AskCommand(HttpClient http, JsonMapper json, PrintStream out, PrintStream err) {
    this.http = http;
    this.json = json;
    this.out = out;
    this.err = err;
  }

  /** The media type of an image file, by its extension. */
  static String mediaType(Path image) {
    String name = image.getFileName().toString().toLowerCase(Locale.ROOT);
    int dot = name.lastIndexOf('.');
    String ext = dot < 0 ? "" : name.substring(dot + 1);
    return switch (ext) {
      case "png" -> "image/png";
      case "jpg", "jpeg", "jpe" -> "image/jpeg";
      case "gif" -> "image/gif";
      case "webp" -> "image/webp";
      case "bmp" -> "image/bmp";
      case "tif", "tiff" -> "image/tiff";
      default ->
          throw new UsageException(
              "cannot tell the image type of "
                  + image
                  + " from its extension (png, jpg, jpeg, gif, webp, bmp, tif)");
    };
  }

  /** The request body. */
  String body(Options options, byte[] image) {
    ObjectNode root = json.createObjectNode();
    root.put("model", options.model());
    ObjectNode message = root.putArray("messages").addObject();
    message.put("role", "user");
    var content = message.putArray("content");
    content.addObject().put("type", "text").put("text", options.question());
    ObjectNode imagePart = content.addObject().put("type", "image_url");
    imagePart
        .putObject("image_url")
        .put(
            "url",
            "data:"
                + mediaType(options.image())
                + ";base64,"
                + Base64.getEncoder().encodeToString(image));
    root.put("stream", options.stream());
    if (options.stream()) {
      root.putObject("stream_options").put("include_usage", true);
    }
    root.put("grounding", options.grounding());
    root.put("max_tokens", options.maxTokens());
    return json.writeValueAsString(root);
  }

  /**
   * Asks and prints.
   *
   * @return the exit status: 0 answered, 1 failed
   */
  int run(Options options) throws IOException, InterruptedException {
    if (!Files.isReadable(options.image())) {
      throw new UsageException("cannot read the image " + options.image());
    }
    String body = body(options, Files.readAllBytes(options.image()));
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(options.gateway().resolve("/v1/chat/completions"))
            .timeout(Duration.ofMinutes(5))
            .header("Content-Type", "application/json")
            .header("Accept", options.stream() ? "text/event-stream" : "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (options.apiKey() != null && !options.apiKey().isBlank()) {
      builder.header("Authorization", "Bearer " + options.apiKey());
    }
    HttpRequest request = builder.build();
    HttpResponse<InputStream> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (java.net.ConnectException e) {
      err.println(
          "error: cannot reach the gateway at " + options.gateway() + " (is `ferret up` running?)");
      return 1;
    }
    try (InputStream in = response.body()) {
      if (response.statusCode() != 200) {
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        err.println("error: HTTP " + response.statusCode() + ": " + errorMessage(text));
        return 1;
      }
      return options.stream() ? printStream(in) : printWhole(in);
    }
  }

  private int printStream(InputStream in) throws IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    List<JsonNode> boxes = new ArrayList<>();
    JsonNode usage = null;
    String finish = null;
    boolean done = false;
    String line;
    while ((line = reader.readLine()) != null) {
      if (!line.startsWith("data:")) {
        continue;
      }
      String data = line.substring(5).trim();
      if (data.equals("[DONE]")) {
        done = true;
        break;
      }
      JsonNode chunk = json.readTree(data);
      if (chunk.has("error")) {
        out.println();
        err.println("error: " + describe(chunk.get("error")));
        return 1;
      }
      if (chunk.has("usage") && !chunk.get("usage").isNull()) {
        usage = chunk.get("usage");
      }
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode delta = choice.path("delta");
      JsonNode content = delta.get("content");
      if (content != null && content.isString() && !content.stringValue().isEmpty()) {
        out.print(content.stringValue());
        out.flush();
      }
      for (JsonNode box : delta.path("boxes")) {
        boxes.add(box);
      }
      JsonNode reason = choice.get("finish_reason");
      if (reason != null && reason.isString()) {
        finish = reason.stringValue();
      }
    }
    out.println();
    if (!done) {
      err.println("error: the stream ended without [DONE]");
      return 1;
    }
    printBoxes(boxes);
    printFooter(finish, usage);
    return 0;
  }

  private int printWhole(InputStream in) throws IOException {
    JsonNode body = json.readTree(in);
    JsonNode message = body.path("choices").path(0).path("message");
    out.println(message.path("content").asString(""));
    List<JsonNode> boxes = new ArrayList<>();
    for (JsonNode box : message.path("boxes")) {
      boxes.add(box);
    }
    printBoxes(boxes);
    printFooter(
        body.path("choices").path(0).path("finish_reason").asString(null), body.get("usage"));
    return 0;
  }

  private void printBoxes(List<JsonNode> boxes) {
    if (boxes.isEmpty()) {
      return;
    }
    out.println("boxes (pixels of the original image; 0..999 grid in brackets):");
    for (JsonNode box : boxes) {
      out.println(
          "  "
              + box.path("phrase").asString("")
              + ": "
              + coordinates(box.path("box_pixels"))
              + "  ["
              + coordinates(box.path("box"))
              + "]");
    }
  }

  private void printFooter(String finish, JsonNode usage) {
    StringBuilder footer = new StringBuilder();
    if (finish != null) {
      footer.append("finish: ").append(finish);
    }
    if (usage != null && usage.isObject()) {
      footer
          .append(footer.isEmpty() ? "" : ", ")
          .append("tokens: ")
          .append(usage.path("prompt_tokens").asInt())
          .append(" prompt + ")
          .append(usage.path("completion_tokens").asInt())
          .append(" completion");
    }
    if (!footer.isEmpty()) {
      err.println("(" + footer + ")");
    }
  }

  private static String coordinates(JsonNode array) {
    List<String> values = new ArrayList<>();
    for (JsonNode v : array) {
      values.add(Integer.toString(v.asInt()));
    }
    return "(" + String.join(", ", values) + ")";
  }

  private String errorMessage(String body) {
    try {
      JsonNode root = json.readTree(body);
      if (root != null && root.has("error")) {
        return describe(root.get("error"));
      }
    } catch (JacksonException e) {
      // not JSON: print it as it is
    }
    return body.isBlank() ? "(no body)" : body.strip();
  }

  private static String describe(JsonNode error) {
    if (error.isString()) {
      return error.stringValue();
    }
    String message = error.path("message").asString("unknown error");
    String code = error.path("code").asString("");
    return code.isEmpty() ? message : message + " (" + code + ")";
  }
}

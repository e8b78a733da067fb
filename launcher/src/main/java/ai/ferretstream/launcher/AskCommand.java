package ai.ferretstream.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Reader;
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
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code ferret ask}: asks one or more questions about one image, in one conversation, through a
 * gateway's chat completions API, and prints each answer as it streams in, then its boxes in pixel
 * coordinates. Each follow-up sends the earlier turns (the question as written, the answer as
 * received) as history; only the first user message carries the image. Questions come from the
 * command line, then, in interactive mode, one per line from an input until its end, an empty line
 * or {@code exit}.
 */
final class AskCommand {

  /** How to ask and where (the same for every question of the conversation). */
  record Options(
      URI gateway,
      Path image,
      boolean stream,
      boolean grounding,
      int maxTokens,
      String model,
      String apiKey) {}

  /** An answered turn: the user's text as written and the assistant's answer as received. */
  record Turn(String user, String assistant) {}

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

  /**
   * The request body: the earlier turns as user and assistant messages, the first user message with
   * the image, then the question.
   */
  String body(Options options, byte[] image, List<Turn> history, String question) {
    ObjectNode root = json.createObjectNode();
    root.put("model", options.model());
    ArrayNode messages = root.putArray("messages");
    for (int i = 0; i <= history.size(); i++) {
      ObjectNode user = messages.addObject().put("role", "user");
      var content = user.putArray("content");
      content
          .addObject()
          .put("type", "text")
          .put("text", i < history.size() ? history.get(i).user() : question);
      if (i == 0) {
        content
            .addObject()
            .put("type", "image_url")
            .putObject("image_url")
            .put(
                "url",
                "data:"
                    + mediaType(options.image())
                    + ";base64,"
                    + Base64.getEncoder().encodeToString(image));
      }
      if (i < history.size()) {
        messages.addObject().put("role", "assistant").put("content", history.get(i).assistant());
      }
    }
    root.put("stream", options.stream());
    if (options.stream()) {
      root.putObject("stream_options").put("include_usage", true);
    }
    root.put("grounding", options.grounding());
    root.put("max_tokens", options.maxTokens());
    return json.writeValueAsString(root);
  }

  /**
   * Asks one question and prints the answer.
   *
   * @return the exit status: 0 answered, 1 failed
   */
  int run(Options options, String question) throws IOException, InterruptedException {
    return run(options, List.of(question), null, false);
  }

  /**
   * Asks the questions in order in one conversation, then, when {@code input} is given, every
   * further question read from it, one per line, until its end, an empty line or {@code exit} /
   * {@code quit}. Each answer is printed as it comes, then its boxes. With more than one question
   * each is echoed first as {@code > question}, except those typed at a prompt.
   *
   * <p>A failed question (its error printed) ends a conversation from the command line: the
   * questions after it are not asked. In interactive mode the failed question is left out of the
   * conversation and the next line is read.
   *
   * @param input the interactive questions, or null for none
   * @param prompt print a {@code > } prompt on the error stream before reading each line (for a
   *     terminal)
   * @return the exit status: 0 every question answered, 1 one failed, 2 no question at all
   */
  int run(Options options, List<String> questions, Reader input, boolean prompt)
      throws IOException, InterruptedException {
    if (!Files.isReadable(options.image())) {
      throw new UsageException("cannot read the image " + options.image());
    }
    byte[] image = Files.readAllBytes(options.image());
    List<Turn> history = new ArrayList<>();
    boolean echo = questions.size() > 1 || input != null;
    boolean failed = false;
    int asked = questions.size();
    for (int i = 0; i < questions.size(); i++) {
      if (!ask(options, image, history, questions.get(i), echo)) {
        if (input == null) {
          if (i + 1 < questions.size()) {
            err.println(
                "ferret: the "
                    + (questions.size() - i - 1)
                    + " question(s) after the failed one were not asked");
          }
          return 1;
        }
        failed = true;
      }
    }
    if (input != null) {
      if (prompt) {
        err.println(
            "Questions about "
                + options.image().getFileName()
                + ", one per line (an empty line, exit or end of input ends the conversation):");
      }
      BufferedReader lines = new BufferedReader(input);
      for (; ; ) {
        if (prompt) {
          err.print("> ");
          err.flush();
        }
        String line = lines.readLine();
        if (line == null) {
          break;
        }
        String question = line.strip();
        if (question.isEmpty() || question.equals("exit") || question.equals("quit")) {
          break;
        }
        asked++;
        failed |= !ask(options, image, history, question, !prompt);
      }
    }
    if (asked == 0) {
      err.println(
          "ferret: no question: give one as an argument, with -q, or one per line on stdin");
      return 2;
    }
    return failed ? 1 : 0;
  }

  /**
   * Asks one question with the history so far; an answer joins the history.
   *
   * @return whether it was answered (otherwise the error is printed)
   */
  private boolean ask(
      Options options, byte[] image, List<Turn> history, String question, boolean echo)
      throws InterruptedException {
    if (echo) {
      out.println("> " + question);
    }
    String body = body(options, image, history, question);
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(options.gateway().resolve("/v1/chat/completions"))
            .timeout(Duration.ofMinutes(5))
            .header("Content-Type", "application/json")
            .header("Accept", options.stream() ? "text/event-stream" : "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (options.apiKey() != null && !options.apiKey().isBlank()) {
      builder.header("Authorization", "Bearer " + options.apiKey());
    }
    String answer;
    try {
      answer = send(options, builder.build());
    } catch (java.net.ConnectException e) {
      err.println(
          "error: cannot reach the gateway at " + options.gateway() + " (is `ferret up` running?)");
      return false;
    } catch (IOException e) {
      out.println();
      err.println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return false;
    }
    if (answer == null) {
      return false;
    }
    history.add(new Turn(question, answer));
    if (echo) {
      out.println();
    }
    return true;
  }

  /** Sends, prints the answer; returns its text, or null after printing the error. */
  private String send(Options options, HttpRequest request)
      throws IOException, InterruptedException {
    HttpResponse<InputStream> response =
        http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = response.body()) {
      if (response.statusCode() != 200) {
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        err.println("error: HTTP " + response.statusCode() + ": " + errorMessage(text));
        return null;
      }
      return options.stream() ? printStream(in) : printWhole(in);
    }
  }

  private String printStream(InputStream in) throws IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    StringBuilder text = new StringBuilder();
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
        return null;
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
        text.append(content.stringValue());
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
      return null;
    }
    printBoxes(boxes);
    printFooter(finish, usage);
    return text.toString();
  }

  private String printWhole(InputStream in) throws IOException {
    JsonNode body = json.readTree(in);
    JsonNode message = body.path("choices").path(0).path("message");
    String text = message.path("content").asString("");
    out.println(text);
    List<JsonNode> boxes = new ArrayList<>();
    for (JsonNode box : message.path("boxes")) {
      boxes.add(box);
    }
    printBoxes(boxes);
    printFooter(
        body.path("choices").path(0).path("finish_reason").asString(null), body.get("usage"));
    return text;
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

package ai.ferretstream.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Load driver for follow-up questions (the feature cache, ADR 0018): for each of {@code
 * --conversations} new images (the same pixels with a PNG text chunk of its own), asks a first
 * question, then a follow-up with the conversation so far, both streamed through the OpenAI API at
 * concurrency 1, and prints one JSON object: time to first token (the first chunk with answer text)
 * and to the end of each, as percentiles, and how many answers say in their {@code ferret_timings}
 * that their features came from the cache. Run by {@code scripts/bench-follow-up.sh}.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar ai.ferretstream.bench.ConversationLoad \
 *   --url http://localhost:8080 [--image-size 960x640] [--conversations 30] [--warmup 5] \
 *   [--first "Where is the red object?"] [--follow-up "And the blue one?"] [--phase NAME] \
 *   [--out FILE]
 * </pre>
 */
public final class ConversationLoad {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private ConversationLoad() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
      }
      opts.put(args[i].substring(2), args[++i]);
    }
    String url = opts.get("url");
    if (url == null) {
      throw new IllegalArgumentException("--url is required");
    }
    int conversations = Integer.parseInt(opts.getOrDefault("conversations", "30"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));
    String first = opts.getOrDefault("first", "Where is the red object?");
    String followUp = opts.getOrDefault("follow-up", "And the blue one?");
    byte[] png = PipelineLoad.synthetic(opts.getOrDefault("image-size", "960x640"));
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    URI endpoint = URI.create(url + "/v1/chat/completions");
    long seed = System.nanoTime();

    List<Turn> firsts = new ArrayList<>();
    List<Turn> followUps = new ArrayList<>();
    int errors = 0;
    for (int c = 0; c < warmup + conversations; c++) {
      String dataUrl =
          "data:image/png;base64," + Base64.getEncoder().encodeToString(Pngs.unique(png, seed + c));
      Turn one = ask(http, endpoint, body(dataUrl, first, null, null));
      Turn two = one.ok() ? ask(http, endpoint, body(dataUrl, first, one.text, followUp)) : one;
      if (c < warmup) {
        continue;
      }
      if (!one.ok() || !two.ok()) {
        errors++;
        continue;
      }
      firsts.add(one);
      followUps.add(two);
    }

    StringBuilder out = new StringBuilder("{");
    out.append("\"phase\":").append(quote(opts.getOrDefault("phase", "follow-up")));
    out.append(",\"image_size\":").append(quote(opts.getOrDefault("image-size", "960x640")));
    out.append(",\"image_bytes\":").append(png.length);
    out.append(",\"conversations\":").append(firsts.size());
    out.append(",\"errors\":").append(errors);
    out.append(",\"first_question\":").append(quote(first));
    out.append(",\"follow_up\":").append(quote(followUp));
    field(out, "first_ttft_ms", firsts.stream().mapToDouble(t -> t.ttftMs).toArray());
    field(out, "follow_up_ttft_ms", followUps.stream().mapToDouble(t -> t.ttftMs).toArray());
    field(out, "first_total_ms", firsts.stream().mapToDouble(t -> t.totalMs).toArray());
    field(out, "follow_up_total_ms", followUps.stream().mapToDouble(t -> t.totalMs).toArray());
    out.append(",\"first_cache_hits\":").append(firsts.stream().filter(t -> t.cacheHit).count());
    out.append(",\"follow_up_cache_hits\":")
        .append(followUps.stream().filter(t -> t.cacheHit).count());
    out.append('}');
    System.out.println("PHASE_JSON " + out);
    if (opts.containsKey("out")) {
      Files.writeString(
          Path.of(opts.get("out")),
          out + "\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
    System.exit(errors == 0 ? 0 : 1);
  }

  /** One streamed answer: its text, when its first text and its end came, and where from. */
  private record Turn(String text, double ttftMs, double totalMs, boolean cacheHit, String error) {
    boolean ok() {
      return error == null;
    }
  }

  private static Turn ask(HttpClient http, URI endpoint, byte[] body) {
    long start = System.nanoTime();
    try {
      HttpResponse<Stream<String>> response =
          http.send(
              HttpRequest.newBuilder(endpoint)
                  .timeout(Duration.ofMinutes(2))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .build(),
              HttpResponse.BodyHandlers.ofLines());
      if (response.statusCode() != 200) {
        String text = String.join("\n", response.body().toList());
        return new Turn("", 0, 0, false, "HTTP " + response.statusCode() + ": " + text);
      }
      StringBuilder text = new StringBuilder();
      double ttft = -1;
      boolean hit = false;
      try (Stream<String> lines = response.body()) {
        Iterator<String> it = lines.iterator();
        while (it.hasNext()) {
          String line = it.next();
          if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
            continue;
          }
          JsonNode chunk = JSON.readTree(line.substring("data: ".length()));
          if (chunk.has("error")) {
            return new Turn("", 0, 0, false, chunk.get("error").toString());
          }
          String piece = chunk.at("/choices/0/delta/content").asString("");
          if (!piece.isEmpty()) {
            if (ttft < 0) {
              ttft = (System.nanoTime() - start) / 1e6;
            }
            text.append(piece);
          }
          if (chunk.at("/ferret_timings").has("tiler.feature_cache_hit")) {
            hit = true;
          }
        }
      }
      double total = (System.nanoTime() - start) / 1e6;
      return ttft < 0
          ? new Turn("", 0, 0, false, "no answer text")
          : new Turn(text.toString(), ttft, total, hit, null);
    } catch (IOException | RuntimeException e) {
      return new Turn("", 0, 0, false, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Turn("", 0, 0, false, "interrupted");
    }
  }

  /** A streamed request: the first question with the image, then the answer and a follow-up. */
  private static byte[] body(String dataUrl, String first, String answer, String followUp) {
    ObjectNode root = JSON.createObjectNode();
    root.put("model", "ferret-v2-dev");
    root.put("stream", true);
    root.putObject("stream_options").put("include_usage", true);
    ArrayNode messages = root.putArray("messages");
    ArrayNode content = messages.addObject().put("role", "user").putArray("content");
    content.addObject().put("type", "text").put("text", first);
    content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl);
    if (followUp != null) {
      messages.addObject().put("role", "assistant").put("content", answer);
      messages.addObject().put("role", "user").put("content", followUp);
    }
    return JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
  }

  /** p50, p90 and mean of {@code values} as {@code "name":{...}}. */
  private static void field(StringBuilder out, String name, double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    double mean = java.util.Arrays.stream(sorted).average().orElse(0);
    out.append(",\"")
        .append(name)
        .append("\":{\"p50\":")
        .append(String.format(java.util.Locale.ROOT, "%.1f", percentile(sorted, 0.5)))
        .append(",\"p90\":")
        .append(String.format(java.util.Locale.ROOT, "%.1f", percentile(sorted, 0.9)))
        .append(",\"mean\":")
        .append(String.format(java.util.Locale.ROOT, "%.1f", mean))
        .append('}');
  }

  private static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }

  private static String quote(String s) {
    return JSON.writeValueAsString(s);
  }
}

package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.DataUrls;
import ai.ferretstream.gateway.domain.ImageData;
import ai.ferretstream.gateway.domain.RegionSyntax;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.gateway.fetch.ImageFetchFailed;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.Turn;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads and validates an OpenAI chat completion request body. Supported: {@code model}, {@code
 * messages} (roles system, developer, user, assistant; content a string or an array of {@code text}
 * and {@code image_url} parts), {@code stream}, {@code stream_options.include_usage}, {@code
 * max_tokens} / {@code max_completion_tokens}, {@code temperature}, {@code top_p}, {@code stop},
 * {@code seed}, {@code n} (1 only) and the extension {@code grounding}. Other fields are ignored.
 *
 * <p>The conversation needs exactly one image, sent as a data: URL or as an http(s) URL that the
 * gateway fetches ({@link ImageFetcher}: SSRF-guarded, bounded in time and size; only after the
 * rest of the request is valid), and must end with a user message: its text is the prompt, whose
 * {@code [x1, y1, x2, y2] <region_fea>} and {@code [x, y] <region_fea>} references become the
 * request's regions. Earlier user/assistant pairs become the history, each user text with its own
 * references kept as that turn's regions ({@code Turn.regions}), so a follow-up can refer back to
 * them; an assistant message holds no {@code <region_fea>}. The whole conversation refers to at
 * most {@code limits.max-regions} regions. System messages are ignored (the model's conversation
 * template has its own).
 *
 * <p>A fetch that fails on the far side is an {@link ApiError} {@code image_fetch_failed}: 504 when
 * it ran out of time, 502 otherwise.
 */
final class ChatRequestReader {

  private static final int MAX_STOP_SEQUENCES = 4;

  private final JsonMapper json;
  private final GatewayProperties.Limits limits;
  private final String modelName;
  private final int defaultMaxTokens;
  private final ImageFetcher fetcher;

  /** A reader that refuses http(s) image URLs ({@code unsupported_image_url}). */
  ChatRequestReader(JsonMapper json, GatewayProperties properties) {
    this(json, properties, null);
  }

  /**
   * @param fetcher fetches http(s) image URLs; null = such URLs are refused ({@code
   *     unsupported_image_url})
   */
  ChatRequestReader(JsonMapper json, GatewayProperties properties, ImageFetcher fetcher) {
    this.json = json;
    this.limits = properties.limits();
    this.modelName = properties.modelName();
    this.defaultMaxTokens = properties.defaultMaxTokens();
    this.fetcher = fetcher;
  }

  ChatRequest read(byte[] body) {
    return read(jsonObject(body));
  }

  /** The body as a JSON object; a 400 when it is not valid JSON or not an object. */
  JsonNode jsonObject(byte[] body) {
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JacksonException e) {
      throw RequestRejected.invalid(
          null, "the request body is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw RequestRejected.invalid(null, "the request body must be a JSON object");
    }
    return root;
  }

  ChatRequest read(JsonNode root) {
    String model = optionalString(root, "model");
    if (model == null || model.isEmpty()) {
      model = modelName;
    } else if (!model.equals(modelName)) {
      throw new RequestRejected(
          RequestRejected.Reason.NOT_FOUND,
          "model_not_found",
          "model",
          "the model '" + model + "' does not exist; this server serves '" + modelName + "'");
    }
    Conversation conversation = conversation(root);
    GenerationOptions options = options(root);
    boolean stream = optionalBoolean(root, "stream", false);
    boolean includeUsage = false;
    JsonNode streamOptions = present(root, "stream_options");
    if (streamOptions != null) {
      if (!streamOptions.isObject()) {
        throw RequestRejected.invalid("stream_options", "stream_options must be an object");
      }
      includeUsage = optionalBoolean(streamOptions, "include_usage", false);
    }
    boolean grounding = optionalBoolean(root, "grounding", false);
    // A remote image is fetched last, once nothing else in the request can be refused.
    ImageData image = conversation.image != null ? conversation.image : fetch(conversation);
    return new ChatRequest(
        model,
        conversation.prompt,
        conversation.history,
        conversation.regions,
        image,
        options,
        grounding,
        stream,
        includeUsage);
  }

  private static final class Conversation {
    String prompt;
    List<Turn> history = new ArrayList<>();
    List<Region> regions;
    ImageData image;
    String imageUrl;
    String imageParam;
  }

  private Conversation conversation(JsonNode root) {
    JsonNode messages = present(root, "messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw RequestRejected.invalid("messages", "messages must be a non-empty array");
    }
    if (messages.size() > limits.maxMessages()) {
      throw RequestRejected.invalid(
          "messages",
          "the request has "
              + messages.size()
              + " messages; at most "
              + limits.maxMessages()
              + " are accepted");
    }
    Conversation conversation = new Conversation();
    int last = messages.size() - 1;
    StringBuilder pendingUser = null;
    String pendingParam = null;
    int historyRegions = 0;
    long chars = 0;
    for (int i = 0; i <= last; i++) {
      String param = "messages[" + i + "]";
      JsonNode message = messages.get(i);
      if (!message.isObject()) {
        throw RequestRejected.invalid(param, param + " must be an object");
      }
      String role = optionalString(message, "role", param + ".role");
      if (role == null) {
        throw RequestRejected.invalid(param + ".role", param + ".role is required");
      }
      boolean user = role.equals("user");
      switch (role) {
        case "system", "developer", "user", "assistant" -> {}
        default ->
            throw RequestRejected.invalid(
                param + ".role",
                "role '" + role + "' is not supported (system, developer, user, assistant)");
      }
      String text = content(message, param, user, conversation);
      chars += text.length();
      if (chars > limits.maxPromptChars()) {
        throw new RequestRejected(
            RequestRejected.Reason.INVALID,
            "context_length_exceeded",
            "messages",
            "the messages hold more than " + limits.maxPromptChars() + " characters of text");
      }
      if (i == last) {
        if (!user) {
          throw RequestRejected.invalid(
              param + ".role", "the last message must be from the user, not '" + role + "'");
        }
        String prompt = text;
        if (pendingUser != null && !pendingUser.isEmpty()) {
          prompt = text.isEmpty() ? pendingUser.toString() : pendingUser + "\n" + text;
        }
        if (prompt.isBlank()) {
          throw RequestRejected.invalid(
              param + ".content", "the last user message has no text to answer");
        }
        conversation.prompt = prompt;
        conversation.regions = RegionSyntax.parse(prompt, param + ".content", limits.maxRegions());
        int regions = historyRegions + conversation.regions.size();
        if (regions > limits.maxRegions()) {
          throw RequestRejected.invalid(
              "messages",
              "the conversation refers to "
                  + regions
                  + " regions ("
                  + historyRegions
                  + " in earlier turns, "
                  + conversation.regions.size()
                  + " in the last message); at most "
                  + limits.maxRegions()
                  + " per conversation");
        }
      } else if (user) {
        if (pendingUser == null) {
          pendingUser = new StringBuilder(text);
          pendingParam = param + ".content";
        } else if (!text.isEmpty()) {
          if (!pendingUser.isEmpty()) {
            pendingUser.append('\n');
          }
          pendingUser.append(text);
        }
      } else if (role.equals("assistant")) {
        if (text.contains(RegionSyntax.TOKEN)) {
          throw new RequestRejected(
              RequestRejected.Reason.INVALID,
              "unsupported_region",
              param + ".content",
              "an assistant message cannot hold "
                  + RegionSyntax.TOKEN
                  + "; regions are referred to in user messages");
        }
        String asked = pendingUser == null ? "" : pendingUser.toString();
        // an earlier question keeps its regions: a follow-up may refer back to them
        List<Region> regions =
            asked.isEmpty()
                ? List.of()
                : RegionSyntax.parse(asked, pendingParam, limits.maxRegions());
        historyRegions += regions.size();
        conversation.history.add(
            Turn.newBuilder().setUser(asked).setAssistant(text).addAllRegions(regions).build());
        pendingUser = null;
        pendingParam = null;
      }
    }
    if (conversation.image == null && conversation.imageUrl == null) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "missing_image",
          "messages",
          "the conversation needs one image: an image_url part with a data:image/...;base64,..."
              + " or http(s) URL in a user message");
    }
    return conversation;
  }

  /** The text of a message; its image part, if any, goes to the conversation. */
  private String content(JsonNode message, String param, boolean user, Conversation conversation) {
    JsonNode content = present(message, "content");
    if (content == null) {
      return "";
    }
    if (content.isString()) {
      return content.stringValue();
    }
    if (!content.isArray()) {
      throw RequestRejected.invalid(
          param + ".content", param + ".content must be a string or an array of parts");
    }
    StringBuilder text = new StringBuilder();
    for (int j = 0; j < content.size(); j++) {
      String partParam = param + ".content[" + j + "]";
      JsonNode part = content.get(j);
      String type = part.isObject() ? optionalString(part, "type", partParam + ".type") : null;
      if (type == null) {
        throw RequestRejected.invalid(partParam, partParam + " must be an object with a type");
      }
      switch (type) {
        case "text" -> {
          String piece = optionalString(part, "text", partParam + ".text");
          if (piece == null) {
            throw RequestRejected.invalid(partParam + ".text", partParam + ".text is required");
          }
          if (!text.isEmpty() && !piece.isEmpty()) {
            text.append('\n');
          }
          text.append(piece);
        }
        case "image_url" -> {
          if (!user) {
            throw RequestRejected.invalid(partParam, "images are accepted in user messages only");
          }
          if (conversation.image != null || conversation.imageUrl != null) {
            throw RequestRejected.invalid(
                partParam, "exactly one image per conversation is supported; found a second one");
          }
          image(part, partParam, conversation);
        }
        default ->
            throw RequestRejected.invalid(
                partParam + ".type", "content part type '" + type + "' is not supported");
      }
    }
    return text.toString();
  }

  /** Decodes a data: URL at once; keeps an http(s) URL for {@link #fetch}. */
  private void image(JsonNode part, String param, Conversation conversation) {
    JsonNode imageUrl = present(part, "image_url");
    String url = null;
    String urlParam = param + ".image_url";
    if (imageUrl != null && imageUrl.isString()) {
      url = imageUrl.stringValue();
    } else if (imageUrl != null && imageUrl.isObject()) {
      urlParam += ".url";
      url = optionalString(imageUrl, "url", urlParam);
    }
    if (url == null || url.isEmpty()) {
      throw RequestRejected.invalid(urlParam, urlParam + " must hold the image URL");
    }
    if (!ImageFetcher.isRemote(url)) {
      conversation.image = DataUrls.decode(url, urlParam, limits.maxImageBytes().toBytes());
      return;
    }
    if (fetcher == null) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "unsupported_image_url",
          urlParam,
          "http(s) image URLs are turned off on this gateway (ferret.gateway.fetch.enabled);"
              + " send the image inline as a data:image/...;base64,... URL");
    }
    conversation.imageUrl = url;
    conversation.imageParam = urlParam;
  }

  private ImageData fetch(Conversation conversation) {
    try {
      return fetcher.fetch(conversation.imageUrl, conversation.imageParam);
    } catch (ImageFetchFailed e) {
      throw new ApiError(
          e.timedOut() ? 504 : 502, "image_fetch_failed", e.param(), e.getMessage(), 0);
    }
  }

  GenerationOptions options(JsonNode root) {
    GenerationOptions.Builder options = GenerationOptions.newBuilder();
    String tokensField =
        present(root, "max_completion_tokens") != null ? "max_completion_tokens" : "max_tokens";
    JsonNode maxTokens = present(root, tokensField);
    int tokens = defaultMaxTokens;
    if (maxTokens != null) {
      if (!maxTokens.isIntegralNumber()
          || !maxTokens.canConvertToInt()
          || maxTokens.intValue() < 1
          || maxTokens.intValue() > limits.maxTokens()) {
        throw RequestRejected.invalid(
            tokensField, tokensField + " must be an integer from 1 to " + limits.maxTokens());
      }
      tokens = maxTokens.intValue();
    }
    options.setMaxTokens(tokens);
    JsonNode temperature = present(root, "temperature");
    if (temperature != null) {
      if (!temperature.isNumber()
          || temperature.doubleValue() < 0
          || temperature.doubleValue() > 2) {
        throw RequestRejected.invalid("temperature", "temperature must be a number from 0 to 2");
      }
      options.setTemperature(temperature.floatValue());
    }
    JsonNode topP = present(root, "top_p");
    if (topP != null) {
      if (!topP.isNumber() || !(topP.doubleValue() > 0) || topP.doubleValue() > 1) {
        throw RequestRejected.invalid("top_p", "top_p must be a number in (0, 1]");
      }
      options.setTopP(topP.floatValue());
    }
    JsonNode stop = present(root, "stop");
    if (stop != null) {
      List<String> sequences = new ArrayList<>();
      if (stop.isString()) {
        sequences.add(stop.stringValue());
      } else if (stop.isArray()) {
        for (JsonNode s : stop) {
          if (!s.isString()) {
            throw RequestRejected.invalid("stop", "stop must be a string or an array of strings");
          }
          sequences.add(s.stringValue());
        }
      } else {
        throw RequestRejected.invalid("stop", "stop must be a string or an array of strings");
      }
      if (sequences.size() > MAX_STOP_SEQUENCES || sequences.stream().anyMatch(String::isEmpty)) {
        throw RequestRejected.invalid(
            "stop", "stop takes up to " + MAX_STOP_SEQUENCES + " non-empty strings");
      }
      options.addAllStop(sequences);
    }
    JsonNode seed = present(root, "seed");
    if (seed != null) {
      if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
        throw RequestRejected.invalid("seed", "seed must be an integer");
      }
      options.setSeed(seed.longValue()).setHasSeed(true);
    }
    JsonNode n = present(root, "n");
    if (n != null && !(n.isIntegralNumber() && n.canConvertToInt() && n.intValue() == 1)) {
      throw RequestRejected.invalid("n", "only n = 1 is supported");
    }
    return options.build();
  }

  /** The field, or null when absent or JSON null. */
  private static JsonNode present(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value;
  }

  private static String optionalString(JsonNode node, String field) {
    return optionalString(node, field, field);
  }

  private static String optionalString(JsonNode node, String field, String param) {
    JsonNode value = present(node, field);
    if (value == null) {
      return null;
    }
    if (!value.isString()) {
      throw RequestRejected.invalid(param, param + " must be a string");
    }
    return value.stringValue();
  }

  private static boolean optionalBoolean(JsonNode node, String field, boolean fallback) {
    JsonNode value = present(node, field);
    if (value == null) {
      return fallback;
    }
    if (!value.isBoolean()) {
      throw RequestRejected.invalid(field, field + " must be true or false");
    }
    return value.booleanValue();
  }
}

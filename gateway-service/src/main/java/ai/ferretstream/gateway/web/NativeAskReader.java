package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.ImageData;
import ai.ferretstream.gateway.domain.ImageExtent;
import ai.ferretstream.gateway.domain.RegionSyntax;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Polygon;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.Turn;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Reads a {@code POST /v1/ferret/ask} request: a JSON object (the image base64 in {@code image}),
 * or the same object as the multipart part {@code request} with the image as the file part {@code
 * image}. Regions are given in pixels of the image as displayed:
 *
 * <pre>
 * {"question": "What is in <region_fea>?",
 *  "regions": [{"box": [x1, y1, x2, y2]} | {"point": [x, y]} | {"polygon": [[x, y], ...]}
 *              | {"mask_png": "base64 PNG of the image's size, non-zero = inside"}],
 *  "history": [{"user": "What is <region_fea>?", "assistant": "...", "regions": [...]}],
 *  "grounding": true, "stream": true,
 *  "max_tokens": 256, "temperature": 0, "top_p": 1, "stop": ["..."], "seed": 1,
 *  "timeout_ms": 30000}
 * </pre>
 *
 * The k-th region fills the k-th {@code <region_fea>} of the question; a question without any gets
 * one appended per region. A history entry's optional {@code regions} (the same shapes) fill its
 * {@code user} text's placeholders by the same rule, so a follow-up can refer back to them. Every
 * region must lie on the image as displayed (EXIF orientation applied; {@link ImageExtent}): a
 * coordinate beyond its width or height, or a mask of another size, is a 400 {@code invalid_region}
 * naming the region and the image's size. Limits as for chat completions: prompt length, number of
 * regions (of the whole conversation) and turns, image bytes.
 */
final class NativeAskReader {

  private final GatewayProperties properties;
  private final GatewayProperties.Limits limits;
  private final ChatRequestReader chat;

  NativeAskReader(ChatRequestReader chat, GatewayProperties properties) {
    this.properties = properties;
    this.limits = properties.limits();
    this.chat = chat;
  }

  /** A request and its own deadline. */
  record Ask(ChatRequest request, Duration timeout) {}

  /** The JSON form; {@code image} must be in it. */
  Ask read(byte[] body) {
    return read(body, null);
  }

  /**
   * @param body the JSON object
   * @param image the image from a multipart file part, or null to take {@code image} from the JSON
   */
  Ask read(byte[] body, byte[] image) {
    JsonNode root = chat.jsonObject(body);
    String question = text(root, "question");
    if (question.isBlank()) {
      throw RequestRejected.invalid("question", "question must be a non-empty string");
    }
    if (question.length() > limits.maxPromptChars()) {
      throw RequestRejected.invalid(
          "question",
          "question has " + question.length() + " characters; at most " + limits.maxPromptChars());
    }
    List<Region> regions = regions(root, "regions");
    question = withPlaceholders(question, "the question", regions, "regions");
    List<Turn> history = history(root, regions.size());
    byte[] imageBytes =
        image != null ? image : base64(root, "image", limits.maxImageBytes().toBytes(), true);
    if (imageBytes.length == 0) {
      throw RequestRejected.invalid("image", "the image is empty");
    }
    if (imageBytes.length > limits.maxImageBytes().toBytes()) {
      throw new RequestRejected(
          RequestRejected.Reason.TOO_LARGE,
          "image_too_large",
          "image",
          "the image is "
              + imageBytes.length
              + " bytes; at most "
              + limits.maxImageBytes().toBytes());
    }
    checkOnImage(regions, "regions", imageBytes);
    for (int t = 0; t < history.size(); t++) {
      checkOnImage(history.get(t).getRegionsList(), "history[" + t + "].regions", imageBytes);
    }
    GenerationOptions options = chat.options(root);
    boolean stream = flag(root, "stream", true);
    boolean grounding = flag(root, "grounding", false);
    Duration timeout = timeout(root);
    return new Ask(
        new ChatRequest(
            properties.modelName(),
            question,
            history,
            regions,
            new ImageData(imageBytes, "application/octet-stream"),
            options,
            grounding,
            stream,
            true),
        timeout);
  }

  private static int countTokens(String text) {
    int count = 0;
    for (int i = text.indexOf(RegionSyntax.TOKEN);
        i >= 0;
        i = text.indexOf(RegionSyntax.TOKEN, i + 1)) {
      count++;
    }
    return count;
  }

  /**
   * The text with one placeholder per region: as written when it has as many {@code <region_fea>}
   * as regions, with one appended per region when it has none.
   *
   * @throws RequestRejected {@code unsupported_region} when the counts differ otherwise
   */
  private static String withPlaceholders(
      String text, String what, List<Region> regions, String regionsParam) {
    int tokens = countTokens(text);
    if (tokens == 0 && !regions.isEmpty()) {
      return text
          + " "
          + String.join(" ", java.util.Collections.nCopies(regions.size(), RegionSyntax.TOKEN));
    }
    if (tokens != regions.size()) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "unsupported_region",
          regionsParam,
          what
              + " has "
              + tokens
              + " "
              + RegionSyntax.TOKEN
              + " but "
              + regions.size()
              + " regions were given");
    }
    return text;
  }

  /** The regions in {@code node}'s field {@code param} (an array of shapes; absent = none). */
  private List<Region> regions(JsonNode node, String param) {
    String field = param.substring(param.lastIndexOf('.') + 1);
    JsonNode list = node.get(field);
    if (list == null || list.isNull()) {
      return List.of();
    }
    if (!list.isArray()) {
      throw RequestRejected.invalid(param, param + " must be an array");
    }
    if (list.size() > limits.maxRegions()) {
      throw RequestRejected.invalid(
          param, list.size() + " regions; at most " + limits.maxRegions());
    }
    List<Region> out = new ArrayList<>(list.size());
    for (int i = 0; i < list.size(); i++) {
      out.add(region(list.get(i), param + "[" + i + "]"));
    }
    return out;
  }

  private Region region(JsonNode node, String param) {
    if (node == null || !node.isObject() || node.size() != 1) {
      throw RequestRejected.invalid(
          param, param + " must be an object with exactly one of box, point, polygon, mask_png");
    }
    Region.Builder region = Region.newBuilder().setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS);
    if (node.has("box")) {
      int[] v = ints(node.get("box"), 4, param + ".box");
      if (v[2] < v[0] || v[3] < v[1]) {
        throw RequestRejected.invalid(
            param, param + ".box must be [x1, y1, x2, y2] with x1 <= x2, y1 <= y2");
      }
      region.setBox(Box.newBuilder().setX1(v[0]).setY1(v[1]).setX2(v[2]).setY2(v[3]));
    } else if (node.has("point")) {
      int[] v = ints(node.get("point"), 2, param + ".point");
      region.setPoint(Point.newBuilder().setX(v[0]).setY(v[1]));
    } else if (node.has("polygon")) {
      JsonNode vertices = node.get("polygon");
      if (!vertices.isArray() || vertices.size() < 3 || vertices.size() > 4096) {
        throw RequestRejected.invalid(
            param, param + ".polygon must have 3 to 4096 [x, y] vertices");
      }
      Polygon.Builder polygon = Polygon.newBuilder();
      for (int k = 0; k < vertices.size(); k++) {
        int[] v = ints(vertices.get(k), 2, param + ".polygon[" + k + "]");
        polygon.addVertices(Point.newBuilder().setX(v[0]).setY(v[1]));
      }
      region.setPolygon(polygon);
    } else if (node.has("mask_png")) {
      region.setMaskPng(
          ByteString.copyFrom(base64(node, "mask_png", limits.maxImageBytes().toBytes(), true)));
    } else {
      throw RequestRejected.invalid(param, param + " must be one of box, point, polygon, mask_png");
    }
    return region.build();
  }

  /**
   * Every region lies on the image as displayed: coordinates from 0 to its width and height (the
   * far edge included, as an exclusive end), a mask of the image's size. An image whose header does
   * not give its size is left to the tiler, which refuses what it cannot decode.
   */
  private static void checkOnImage(List<Region> regions, String regionsParam, byte[] image) {
    if (regions.isEmpty()) {
      return;
    }
    ImageExtent extent = ImageExtent.of(image);
    if (extent == null) {
      return;
    }
    for (int i = 0; i < regions.size(); i++) {
      Region region = regions.get(i);
      String param = regionsParam + "[" + i + "]";
      switch (region.getShapeCase()) {
        case BOX -> {
          Box b = region.getBox();
          if (!on(extent, b.getX1(), b.getY1()) || !on(extent, b.getX2(), b.getY2())) {
            throw outside(
                param,
                param + ".box",
                "[" + b.getX1() + ", " + b.getY1() + ", " + b.getX2() + ", " + b.getY2() + "]",
                extent);
          }
        }
        case POINT -> {
          Point p = region.getPoint();
          if (!on(extent, p.getX(), p.getY())) {
            throw outside(param, param + ".point", xy(p), extent);
          }
        }
        case POLYGON -> {
          for (int k = 0; k < region.getPolygon().getVerticesCount(); k++) {
            Point p = region.getPolygon().getVertices(k);
            if (!on(extent, p.getX(), p.getY())) {
              throw outside(param, param + ".polygon[" + k + "]", xy(p), extent);
            }
          }
        }
        case MASK_PNG -> {
          ImageExtent mask = ImageExtent.of(region.getMaskPng().toByteArray());
          if (mask == null || !ascii(region.getMaskPng().toByteArray(), "\u0089PNG")) {
            throw new RequestRejected(
                RequestRejected.Reason.INVALID,
                "invalid_region",
                param,
                param + ".mask_png is not a PNG image");
          }
          if (!mask.equals(extent)) {
            throw new RequestRejected(
                RequestRejected.Reason.INVALID,
                "invalid_region",
                param,
                param + ".mask_png is " + mask + "; it must be the image's size, " + extent);
          }
        }
        case SHAPE_NOT_SET -> {}
      }
    }
  }

  private static boolean on(ImageExtent extent, int x, int y) {
    return x <= extent.width() && y <= extent.height();
  }

  private static String xy(Point p) {
    return "[" + p.getX() + ", " + p.getY() + "]";
  }

  private static boolean ascii(byte[] data, String prefix) {
    if (data.length < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if ((data[i] & 0xff) != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static RequestRejected outside(
      String param, String what, String coordinates, ImageExtent extent) {
    return new RequestRejected(
        RequestRejected.Reason.INVALID,
        "invalid_region",
        param,
        what
            + " "
            + coordinates
            + " lies outside the "
            + extent
            + " image: coordinates must be x 0.."
            + extent.width()
            + ", y 0.."
            + extent.height()
            + " (pixels of the image as displayed)");
  }

  private static int[] ints(JsonNode node, int n, String param) {
    if (node == null || !node.isArray() || node.size() != n) {
      throw RequestRejected.invalid(param, param + " must be an array of " + n + " integers");
    }
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
        throw RequestRejected.invalid(param, param + " must hold non-negative pixel integers");
      }
      out[i] = v.intValue();
    }
    return out;
  }

  /**
   * The earlier turns, each with its regions.
   *
   * @param questionRegions the question's regions, for the conversation's region limit
   */
  private List<Turn> history(JsonNode root, int questionRegions) {
    JsonNode list = root.get("history");
    if (list == null || list.isNull()) {
      return List.of();
    }
    if (!list.isArray()) {
      throw RequestRejected.invalid(
          "history", "history must be an array of {user, assistant, regions}");
    }
    if (list.size() * 2 + 1 > limits.maxMessages()) {
      throw RequestRejected.invalid(
          "history", list.size() + " turns; at most " + (limits.maxMessages() - 1) / 2);
    }
    List<Turn> turns = new ArrayList<>(list.size());
    int regionCount = questionRegions;
    long chars = 0;
    for (int t = 0; t < list.size(); t++) {
      JsonNode turn = list.get(t);
      String param = "history[" + t + "]";
      if (!turn.isObject()) {
        throw RequestRejected.invalid(
            param, "each history entry must be {user, assistant, regions}");
      }
      String user = text(turn, "user", param + ".user");
      String assistant = text(turn, "assistant", param + ".assistant");
      chars += user.length() + assistant.length();
      if (chars > limits.maxPromptChars()) {
        throw RequestRejected.invalid(
            "history",
            "the history holds more than " + limits.maxPromptChars() + " characters of text");
      }
      if (assistant.contains(RegionSyntax.TOKEN)) {
        throw new RequestRejected(
            RequestRejected.Reason.INVALID,
            "unsupported_region",
            param + ".assistant",
            param
                + ".assistant cannot hold "
                + RegionSyntax.TOKEN
                + "; regions are referred to in user texts");
      }
      List<Region> regions = regions(turn, param + ".regions");
      regionCount += regions.size();
      if (regionCount > limits.maxRegions()) {
        throw RequestRejected.invalid(
            "history",
            "the conversation refers to more than "
                + limits.maxRegions()
                + " regions (the question and history[0.."
                + t
                + "] together); at most "
                + limits.maxRegions()
                + " per conversation");
      }
      turns.add(
          Turn.newBuilder()
              .setUser(withPlaceholders(user, param + ".user", regions, param + ".regions"))
              .setAssistant(assistant)
              .addAllRegions(regions)
              .build());
    }
    return turns;
  }

  private Duration timeout(JsonNode root) {
    Duration max = properties.requestTimeout();
    JsonNode node = root.get("timeout_ms");
    if (node == null || node.isNull()) {
      return max;
    }
    if (!node.isIntegralNumber() || node.longValue() < 1 || node.longValue() > max.toMillis()) {
      throw RequestRejected.invalid(
          "timeout_ms",
          "timeout_ms must be an integer from 1 to " + max.toMillis() + " (the server's maximum)");
    }
    return Duration.ofMillis(node.longValue());
  }

  private static String text(JsonNode node, String field) {
    return text(node, field, field);
  }

  private static String text(JsonNode node, String field, String param) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return "";
    }
    if (!v.isString()) {
      throw RequestRejected.invalid(param, param + " must be a string");
    }
    return v.stringValue();
  }

  private static boolean flag(JsonNode node, String field, boolean fallback) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw RequestRejected.invalid(field, field + " must be true or false");
    }
    return v.booleanValue();
  }

  private static byte[] base64(JsonNode node, String field, long maxBytes, boolean required) {
    String text = text(node, field);
    if (text.isEmpty()) {
      if (required) {
        throw RequestRejected.invalid(field, field + " (base64) is required");
      }
      return new byte[0];
    }
    if ((long) text.length() * 3 / 4 > maxBytes + 3) {
      throw new RequestRejected(
          RequestRejected.Reason.TOO_LARGE,
          "image_too_large",
          field,
          field + " is larger than " + maxBytes + " bytes");
    }
    try {
      return Base64.getMimeDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      throw RequestRejected.invalid(field, field + " is not valid base64: " + e.getMessage());
    }
  }
}

package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.region.Normalized999;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Turn;
import java.util.List;

/**
 * Renders a request as the model's prompt: the system text, the earlier turns, then the current
 * question with an open assistant turn. The image placeholder goes before the first user message
 * only. In every user message, earlier turns' as well as the current question, the k-th region
 * placeholder of a region whose coordinates the text does not already name becomes {@code "[x1, y1,
 * x2, y2] <region_fea>"} (a point: {@code "[x, y] <region_fea>"}; a polygon: its bounding box; a
 * mask PNG: the bounding box of its inside pixels, see {@link MaskPng}) in Ferret's 0..999
 * coordinates, {@code q = int(clamp(x, 0, W-1) * 1000 / W)}. The k-th placeholder of a turn takes
 * the k-th of that turn's regions ({@code Turn.regions}; the question: {@code
 * RequestContext.regions}), so the prompt's placeholders, read from its start, meet the region
 * embeddings in fusion's order: the history's regions oldest turn first, then the question's.
 */
public final class PromptRenderer {

  private final PromptTemplate template;

  public PromptRenderer(PromptTemplate template) {
    this.template = template;
  }

  /**
   * @param imageWidth width of the original image, for region coordinates
   * @param imageHeight height of the original image
   * @throws PermanentFailure {@code invalid_region} when a user message's region placeholders and
   *     its regions do not match (the message names the turn), or a mask region to be named is not
   *     a PNG of the image's size with an inside pixel; {@code invalid_request} when an earlier
   *     answer holds a region placeholder (it has no region to fill it)
   */
  public String render(RequestContext context, int imageWidth, int imageHeight) {
    StringBuilder out = new StringBuilder(512);
    out.append(template.system()).append(template.systemSeparator());
    boolean first = true;
    for (int t = 0; t < context.getHistoryCount(); t++) {
      Turn turn = context.getHistory(t);
      String where = "history turn " + (t + 1);
      user(
          out,
          withRegions(turn.getUser(), turn.getRegionsList(), where, imageWidth, imageHeight),
          first);
      first = false;
      if (turn.getAssistant().contains(template.regionToken())) {
        throw new PermanentFailure(
            "invalid_request",
            "the answer of "
                + where
                + " holds "
                + template.regionToken()
                + "; only user messages refer to regions");
      }
      out.append(template.assistantRole())
          .append(": ")
          .append(turn.getAssistant())
          .append(template.turnEnd());
    }
    String question = withRegions(context, imageWidth, imageHeight);
    if (context.getGrounding()) {
      question += template.groundingSuffix();
    }
    user(out, question, first);
    out.append(template.assistantRole()).append(':');
    return out.toString();
  }

  /** The regions of the whole conversation: every earlier turn's, then the question's. */
  public static int regionCount(RequestContext context) {
    int n = context.getRegionsCount();
    for (Turn turn : context.getHistoryList()) {
      n += turn.getRegionsCount();
    }
    return n;
  }

  private void user(StringBuilder out, String message, boolean first) {
    out.append(template.userRole()).append(": ");
    if (first) {
      out.append(template.imageToken());
    }
    out.append(message).append(template.separator());
  }

  /** The current question with unnamed regions' coordinates written before their placeholders. */
  String withRegions(RequestContext context, int width, int height) {
    return withRegions(
        context.getPrompt(), context.getRegionsList(), "the question", width, height);
  }

  /**
   * A user message with its unnamed regions' coordinates written before their placeholders.
   *
   * @param where the message, for errors ("the question", "history turn 2")
   */
  private String withRegions(
      String prompt, List<Region> regions, String where, int width, int height) {
    String token = template.regionToken();
    int placeholders = count(prompt, token);
    if (placeholders != regions.size()) {
      throw new PermanentFailure(
          "invalid_region",
          where
              + " has "
              + placeholders
              + " "
              + token
              + " placeholders but "
              + regions.size()
              + " regions");
    }
    if (placeholders == 0) {
      return prompt;
    }
    StringBuilder out = new StringBuilder(prompt.length() + 32 * placeholders);
    int from = 0;
    for (Region region : regions) {
      int at = prompt.indexOf(token, from);
      out.append(prompt, from, at);
      if (!region.getNamedInText()) {
        out.append(coordinates(region, width, height)).append(' ');
      }
      out.append(token);
      from = at + token.length();
    }
    return out.append(prompt, from, prompt.length()).toString();
  }

  /** The region's coordinates as Ferret writes them, e.g. {@code [120, 45, 300, 280]}. */
  static String coordinates(Region region, int width, int height) {
    CoordinateSpace space = region.getSpace();
    return switch (region.getShapeCase()) {
      case BOX -> {
        Box b = region.getBox();
        yield box(
            space,
            Math.min(b.getX1(), b.getX2()),
            Math.min(b.getY1(), b.getY2()),
            Math.max(b.getX1(), b.getX2()),
            Math.max(b.getY1(), b.getY2()),
            width,
            height);
      }
      case POINT ->
          "["
              + q(space, region.getPoint().getX(), width)
              + ", "
              + q(space, region.getPoint().getY(), height)
              + "]";
      case POLYGON -> {
        if (region.getPolygon().getVerticesCount() == 0) {
          throw new PermanentFailure("invalid_region", "polygon without vertices");
        }
        int x1 = Integer.MAX_VALUE;
        int y1 = Integer.MAX_VALUE;
        int x2 = Integer.MIN_VALUE;
        int y2 = Integer.MIN_VALUE;
        for (Point p : region.getPolygon().getVerticesList()) {
          x1 = Math.min(x1, p.getX());
          y1 = Math.min(y1, p.getY());
          x2 = Math.max(x2, p.getX());
          y2 = Math.max(y2, p.getY());
        }
        yield box(space, x1, y1, x2, y2, width, height);
      }
      case MASK_PNG -> {
        // a mask is always in pixels of the original image, whatever the region's space says
        if (width <= 0 || height <= 0) {
          throw new PermanentFailure(
              "invalid_request", "image size unknown for region coordinates");
        }
        MaskPng.Bounds b = MaskPng.bounds(region.getMaskPng(), width, height);
        yield box(
            CoordinateSpace.COORDINATE_SPACE_PIXELS, b.x1(), b.y1(), b.x2(), b.y2(), width, height);
      }
      case SHAPE_NOT_SET -> throw new PermanentFailure("invalid_region", "region has no shape");
    };
  }

  /** {@code [x1, y1, x2, y2]} in 0..999 coordinates. */
  private static String box(
      CoordinateSpace space, int x1, int y1, int x2, int y2, int width, int height) {
    return "["
        + q(space, x1, width)
        + ", "
        + q(space, y1, height)
        + ", "
        + q(space, x2, width)
        + ", "
        + q(space, y2, height)
        + "]";
  }

  /** Ferret's 0..999 coordinate of a coordinate in {@code space} ({@link Normalized999}). */
  static int q(CoordinateSpace space, int value, int extent) {
    if (space == CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999) {
      return Normalized999.clamp(value);
    }
    if (extent <= 0) {
      throw new PermanentFailure("invalid_request", "image size unknown for region coordinates");
    }
    return Normalized999.fromPixel(value, extent);
  }

  private static int count(String text, String token) {
    int n = 0;
    for (int at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + token.length())) {
      n++;
    }
    return n;
  }
}

package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Region;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the regions a question refers to the Ferret way: {@code [x1, y1, x2, y2] <region_fea>} (a
 * box) or {@code [x, y] <region_fea>} (a point), coordinates on the 0..999 grid. The k-th region
 * fills the k-th {@code <region_fea>} of the text, so every token must carry its coordinates.
 */
public final class RegionSyntax {

  /** The placeholder the LLM replaces with a region's embedding. */
  public static final String TOKEN = "<region_fea>";

  /** The largest coordinate on Ferret's normalised grid. */
  public static final int MAX_COORDINATE = 999;

  private static final Pattern REGION =
      Pattern.compile(
          "(?:\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*(?:,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*)?\\]\\s*)?"
              + Pattern.quote(TOKEN));

  /** A bracket right before a token, whatever it holds (for the reason it is not a region). */
  private static final Pattern BRACKET_BEFORE = Pattern.compile("\\[([^\\[\\]]*)\\]\\s*$");

  private RegionSyntax() {}

  /**
   * The regions named in {@code text}, in order of appearance.
   *
   * @param text a user message: the question, or an earlier turn's (whose regions it keeps)
   * @param param the request field the text came from, for error messages
   * @param maxRegions the most regions one message may name
   * @throws RequestRejected if a token has no coordinates (or a bracket before it that is no
   *     region: negative, not a number, a fraction, not 2 or 4 of them; the message says which), a
   *     coordinate is outside 0..999, a box is inverted, or there are too many regions
   */
  public static List<Region> parse(String text, String param, int maxRegions) {
    List<Region> regions = new ArrayList<>();
    Matcher m = REGION.matcher(text);
    while (m.find()) {
      if (m.group(1) == null) {
        throw withoutCoordinates(text, m.start(), param);
      }
      if (regions.size() == maxRegions) {
        throw RequestRejected.invalid(
            param, "the message refers to more than " + maxRegions + " regions");
      }
      int a = coordinate(m.group(1), param);
      int b = coordinate(m.group(2), param);
      Region.Builder region =
          Region.newBuilder().setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999);
      region.setNamedInText(true);
      if (m.group(3) == null) {
        region.setPoint(Point.newBuilder().setX(a).setY(b));
      } else {
        int c = coordinate(m.group(3), param);
        int d = coordinate(m.group(4), param);
        if (c < a || d < b) {
          throw new RequestRejected(
              RequestRejected.Reason.INVALID,
              "unsupported_region",
              param,
              "region box ["
                  + a
                  + ", "
                  + b
                  + ", "
                  + c
                  + ", "
                  + d
                  + "] is inverted: x2 must be >= x1 and y2 >= y1");
        }
        region.setBox(Box.newBuilder().setX1(a).setY1(b).setX2(c).setY2(d));
      }
      regions.add(region.build());
    }
    return regions;
  }

  /**
   * Why the token at {@code at} has no usable coordinates: none written before it, or a bracket
   * whose coordinates are not 2 or 4 integers 0..999 (negative, not a number, a fraction).
   */
  private static RequestRejected withoutCoordinates(String text, int at, String param) {
    Matcher bracket = BRACKET_BEFORE.matcher(text.substring(Math.max(0, at - 200), at));
    String reason = null;
    String written = null;
    if (bracket.find()) {
      written = "[" + bracket.group(1) + "]";
      String[] items = bracket.group(1).split(",", -1);
      if (items.length != 2 && items.length != 4) {
        reason =
            "has "
                + items.length
                + " coordinate"
                + (items.length == 1 ? "" : "s")
                + "; a box has 4 and a point 2";
      } else {
        for (String item : items) {
          String v = item.strip();
          if (v.isEmpty()) {
            reason = "has an empty coordinate";
          } else if (v.matches("[-\u2212]\\s*\\d+")) {
            reason = v + " is negative";
          } else if (v.matches("[-+]?\\d*\\.\\d*(?:[eE][-+]?\\d+)?") && v.matches(".*\\d.*")) {
            reason = v + " is not an integer";
          } else if (!v.matches("\\d+")) {
            reason = v + " is not a number";
          }
          if (reason != null) {
            break;
          }
        }
      }
    }
    if (reason == null) {
      return new RequestRejected(
          RequestRejected.Reason.INVALID,
          "unsupported_region",
          param,
          TOKEN
              + " at character "
              + at
              + " has no coordinates before it; write [x1, y1, x2, y2] "
              + TOKEN
              + " for a box or [x, y] "
              + TOKEN
              + " for a point, with integers 0..999");
    }
    return new RequestRejected(
        RequestRejected.Reason.INVALID,
        "unsupported_region",
        param,
        "region "
            + written
            + " before "
            + TOKEN
            + " at character "
            + at
            + " is not valid: it "
            + reason
            + "; coordinates are integers 0..999, [x1, y1, x2, y2] for a box or [x, y] for a"
            + " point");
  }

  private static int coordinate(String digits, String param) {
    if (digits.length() > 3 || Integer.parseInt(digits) > MAX_COORDINATE) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID,
          "unsupported_region",
          param,
          "region coordinate " + digits + " is outside the 0..999 grid");
    }
    return Integer.parseInt(digits);
  }
}

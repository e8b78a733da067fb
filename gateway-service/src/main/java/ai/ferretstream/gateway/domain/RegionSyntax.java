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

  private RegionSyntax() {}

  /**
   * The regions named in {@code text}, in order of appearance.
   *
   * @param text the user's question
   * @param param the request field the text came from, for error messages
   * @param maxRegions the most regions one question may name
   * @throws RequestRejected if a token has no coordinates, a coordinate is outside 0..999, a box is
   *     inverted, or there are too many regions
   */
  public static List<Region> parse(String text, String param, int maxRegions) {
    List<Region> regions = new ArrayList<>();
    Matcher m = REGION.matcher(text);
    while (m.find()) {
      if (m.group(1) == null) {
        throw new RequestRejected(
            RequestRejected.Reason.INVALID,
            "unsupported_region",
            param,
            TOKEN
                + " at character "
                + m.start()
                + " has no coordinates before it; write [x1, y1, x2, y2] "
                + TOKEN
                + " for a box or [x, y] "
                + TOKEN
                + " for a point, with integers 0..999");
      }
      if (regions.size() == maxRegions) {
        throw RequestRejected.invalid(
            param, "the question refers to more than " + maxRegions + " regions");
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
   * The text with its {@code <region_fea>} tokens removed (coordinates stay). Earlier turns carry
   * no region features, so their tokens would otherwise be matched to the current turn's regions.
   */
  public static String withoutTokens(String text) {
    if (!text.contains(TOKEN)) {
      return text;
    }
    return text.replaceAll("\\s*" + Pattern.quote(TOKEN), "");
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

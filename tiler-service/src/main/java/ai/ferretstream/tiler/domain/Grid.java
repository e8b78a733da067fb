package ai.ferretstream.tiler.domain;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A grid of local tiles, {@code cols} across and {@code rows} down.
 *
 * @param cols tiles per row (horizontal count)
 * @param rows tile rows (vertical count)
 */
public record Grid(int cols, int rows) {

  private static final Pattern FORMAT = Pattern.compile("\\s*(\\d{1,3})\\s*x\\s*(\\d{1,3})\\s*");

  public Grid {
    if (cols < 1 || rows < 1) {
      throw new IllegalArgumentException("a grid needs at least one column and one row");
    }
  }

  /** Parses {@code "<cols>x<rows>"}, e.g. {@code "3x2"} = three columns, two rows. */
  public static Grid parse(String text) {
    Matcher m = FORMAT.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "grid '" + text + "' is not of the form <cols>x<rows>, e.g. 3x2");
    }
    return new Grid(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
  }

  public int tileCount() {
    return cols * rows;
  }

  @Override
  public String toString() {
    return cols + "x" + rows;
  }
}

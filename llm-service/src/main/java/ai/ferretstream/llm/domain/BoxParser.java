package ai.ferretstream.llm.domain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds Ferret boxes {@code [x1, y1, x2, y2]} (0..999, as Ferret's demo parses them) in streamed
 * text as soon as each one completes, with the phrase it belongs to: the words before the box in
 * its sentence or clause (after the previous box), without a trailing "is at"/"at" and starting
 * after the last article, e.g. "The red square is at [..]" gives "red square" and "held by a ferret
 * [..]" gives "ferret". A box right after another box with no words between (Ferret's {@code
 * [[box1], [box2]]}) shares the previous phrase.
 */
public final class BoxParser {

  /** A box that completed in the text. */
  public record Found(String phrase, double x1, double y1, double x2, double y2, int end) {}

  static final Pattern BOX =
      Pattern.compile(
          "\\[(\\d+(?:\\.\\d+)?), (\\d+(?:\\.\\d+)?), (\\d+(?:\\.\\d+)?), (\\d+(?:\\.\\d+)?)\\]");

  private static final Set<String> ARTICLES = Set.of("a", "an", "the");

  private final StringBuilder text = new StringBuilder();
  private final Matcher matcher = BOX.matcher("");

  /** Where the next box may start: after the last box, or at the last '[' still open. */
  private int scanFrom;

  private int lastBoxEnd;
  private String lastPhrase = "";

  /** Appends a piece of text and returns the boxes that completed with it, in order. */
  public List<Found> append(String piece) {
    text.append(piece);
    List<Found> found = new ArrayList<>(1);
    matcher.reset(text);
    int from = scanFrom;
    while (from < text.length() && matcher.find(from)) {
      int start = matcher.start();
      int end = matcher.end();
      String phrase = phrase(start);
      found.add(
          new Found(
              phrase,
              Double.parseDouble(matcher.group(1)),
              Double.parseDouble(matcher.group(2)),
              Double.parseDouble(matcher.group(3)),
              Double.parseDouble(matcher.group(4)),
              end));
      lastBoxEnd = end;
      lastPhrase = phrase;
      from = end;
    }
    // a box can only complete later if it starts at the last '[' not followed by a match
    int open = text.lastIndexOf("[");
    scanFrom = open >= from ? open : text.length();
    return found;
  }

  /** All text so far. */
  public String text() {
    return text.toString();
  }

  private String phrase(int boxStart) {
    int segmentStart = lastBoxEnd;
    for (int i = boxStart - 1; i >= lastBoxEnd; i--) {
      char c = text.charAt(i);
      if (c == '\n' || c == ';' || c == ',' || c == ':' || c == '!' || c == '?' || sentenceDot(i)) {
        segmentStart = i + 1;
        break;
      }
    }
    String[] words =
        text.substring(segmentStart, boxStart).replaceAll("[\\[(]+\\s*$", "").trim().split("\\s+");
    int end = words.length;
    if (end > 0 && words[end - 1].equalsIgnoreCase("at")) {
      end--;
      if (end > 0 && words[end - 1].equalsIgnoreCase("is")) {
        end--;
      }
    }
    int start = 0;
    for (int i = 0; i < end; i++) {
      if (ARTICLES.contains(words[i].toLowerCase(Locale.ROOT)) && i + 1 < end) {
        start = i + 1;
      }
    }
    String phrase = String.join(" ", Arrays.copyOfRange(words, start, end)).trim();
    return phrase.isEmpty() && lastBoxEnd > 0 && !hasLetter(lastBoxEnd, boxStart)
        ? lastPhrase
        : phrase;
  }

  private boolean hasLetter(int from, int to) {
    for (int i = from; i < to; i++) {
      if (Character.isLetter(text.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  /** A '.' that ends a sentence (not a decimal point). */
  private boolean sentenceDot(int i) {
    return text.charAt(i) == '.'
        && !(i + 1 < text.length()
            && Character.isDigit(text.charAt(i + 1))
            && i > 0
            && Character.isDigit(text.charAt(i - 1)));
  }
}

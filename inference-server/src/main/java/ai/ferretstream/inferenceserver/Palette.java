package ai.ferretstream.inferenceserver;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** The dev LLM's colour names (RGB 0..255); a colour is the nearest entry by Euclidean RGB. */
enum Palette {
  WHITE(255, 255, 255),
  BLACK(0, 0, 0),
  GREY(128, 128, 128),
  RED(255, 0, 0),
  GREEN(0, 160, 0),
  BLUE(0, 0, 255),
  YELLOW(255, 255, 0),
  ORANGE(255, 165, 0),
  PURPLE(128, 0, 128),
  CYAN(0, 255, 255);

  private static final Palette[] ALL = values();

  final int r;
  final int g;
  final int b;

  Palette(int r, int g, int b) {
    this.r = r;
    this.g = g;
    this.b = b;
  }

  /** The lower-case name used in questions and answers. */
  String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The nearest entry to an RGB colour on the 0..255 scale; ties go to the earlier entry. */
  static Palette nearest(float red, float green, float blue) {
    Palette best = WHITE;
    float bestDistance = Float.MAX_VALUE;
    for (Palette p : ALL) {
      float dr = red - p.r;
      float dg = green - p.g;
      float db = blue - p.b;
      float d = dr * dr + dg * dg + db * db;
      if (d < bestDistance) {
        bestDistance = d;
        best = p;
      }
    }
    return best;
  }

  /** The entry named {@code word} (case-insensitive; "gray" is accepted for grey). */
  static Optional<Palette> byWord(String word) {
    String w = word.toLowerCase(Locale.ROOT);
    if (w.equals("gray")) {
      return Optional.of(GREY);
    }
    for (Palette p : ALL) {
      if (p.word().equals(w)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** "white, black, … and cyan". */
  static String known() {
    String all = Arrays.stream(ALL).map(Palette::word).collect(Collectors.joining(", "));
    int last = all.lastIndexOf(", ");
    return all.substring(0, last) + " and " + all.substring(last + 2);
  }
}

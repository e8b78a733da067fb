package ai.ferretstream.tiler.domain;

import java.util.Locale;

/** How the image is fitted onto the grid canvas. */
public enum ResizeMode {
  /** Stretched to the whole canvas, aspect ratio not kept (Ferret-UI's any-resolution path). */
  STRETCH,
  /**
   * Resized keeping the aspect ratio and centred on a black canvas (LLaVA {@code
   * resize_and_pad_image}, with its {@code ceil} rounding).
   */
  PAD;

  /** Parses {@code stretch} or {@code pad}, any case. */
  public static ResizeMode parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "resize mode '" + text + "' is not one of: stretch, pad", e);
    }
  }

  /** The lower-case name, as in {@code grid.json} and settings. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}

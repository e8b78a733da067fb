package ai.ferretstream.tiler.domain;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Synthetic images for the tiler tests. */
public final class TestImages {

  private TestImages() {}

  /**
   * A busy deterministic pattern: {@code ((x*7 + y*13 + c*29) ^ (x*y)) & 0xff}. The Pillow digests
   * in the tests were computed from the same formula.
   */
  public static RgbImage pattern(int width, int height) {
    byte[] pixels = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          pixels[(y * width + x) * 3 + c] = (byte) (((x * 7 + y * 13 + c * 29) ^ (x * y)) & 0xff);
        }
      }
    }
    return new RgbImage(width, height, pixels);
  }

  public static RgbImage solid(int width, int height, int r, int g, int b) {
    byte[] pixels = new byte[width * height * 3];
    for (int i = 0; i < pixels.length; i += 3) {
      pixels[i] = (byte) r;
      pixels[i + 1] = (byte) g;
      pixels[i + 2] = (byte) b;
    }
    return new RgbImage(width, height, pixels);
  }

  /** Each pixel encodes its position: R = x mod 256, G = y mod 256, B = 16*(x/256) + y/256. */
  public static RgbImage gradient(int width, int height) {
    byte[] pixels = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int p = (y * width + x) * 3;
        pixels[p] = (byte) x;
        pixels[p + 1] = (byte) y;
        pixels[p + 2] = (byte) (16 * (x >> 8) + (y >> 8));
      }
    }
    return new RgbImage(width, height, pixels);
  }

  public static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

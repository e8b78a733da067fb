package ai.ferretstream.tiler.domain.decode;

import ai.ferretstream.tiler.domain.PackedImage;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Decoded rasters to packed 8-bit RGB with Pillow's {@code convert('RGB')} rules, row by row into
 * primitive arrays (no per-pixel objects).
 */
final class PixelConversion {

  private static final int HALF = 1 << 15;
  private static final int FIX_1_402 = fix(1.40200);
  private static final int FIX_0_344 = fix(0.34414);
  private static final int FIX_0_714 = fix(0.71414);
  private static final int FIX_1_772 = fix(1.77200);

  private PixelConversion() {}

  private static int fix(double x) {
    return (int) (x * 65536 + 0.5);
  }

  static PackedImage toPacked(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    int[] out = new int[Math.multiplyExact(width, height)];
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    int type = cm.getColorSpace().getType();
    int bands = raster.getNumBands();
    int bits = cm.getComponentSize(0);
    if (cm instanceof IndexColorModel palette) {
      expandPalette(raster, palette, out);
    } else if (isInterleaved8Bit(raster) && type == ColorSpace.TYPE_RGB && bands >= 3) {
      copyInterleavedRgb(raster, out); // raw samples: like Pillow, no colour management
    } else if (type == ColorSpace.TYPE_GRAY && bands <= 2) {
      // Pillow: 16-bit grey is mode I and clamps to 255; 16-bit grey+alpha keeps the high byte
      grey(raster, bits, bits > 8 && bands == 1, out);
    } else if (type == ColorSpace.TYPE_RGB && bands >= 3 && bits > 8) {
      highBytes(raster, bits, out);
    } else {
      viaJava2d(image, out);
    }
    return new PackedImage(width, height, out);
  }

  private static boolean isInterleaved8Bit(Raster raster) {
    return raster.getDataBuffer() instanceof DataBufferByte buffer
        && buffer.getNumBanks() == 1
        && raster.getSampleModel() instanceof ComponentSampleModel
        && raster.getSampleModel().getDataType() == DataBuffer.TYPE_BYTE
        && raster.getSampleModelTranslateX() == 0
        && raster.getSampleModelTranslateY() == 0;
  }

  private static void copyInterleavedRgb(Raster raster, int[] out) {
    ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
    byte[] data = ((DataBufferByte) raster.getDataBuffer()).getData();
    int base = raster.getDataBuffer().getOffset();
    int pixelStride = sm.getPixelStride();
    int scanline = sm.getScanlineStride();
    int[] offsets = sm.getBandOffsets();
    int r = offsets[0];
    int g = offsets[1];
    int b = offsets[2];
    int width = raster.getWidth();
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      int p = base + y * scanline;
      for (int x = 0; x < width; x++, p += pixelStride) {
        out[o++] = (data[p + r] & 0xff) << 16 | (data[p + g] & 0xff) << 8 | (data[p + b] & 0xff);
      }
    }
  }

  private static void expandPalette(Raster raster, IndexColorModel palette, int[] out) {
    int size = palette.getMapSize();
    int[] rgb = new int[size];
    palette.getRGBs(rgb);
    int width = raster.getWidth();
    int[] row = new int[width];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
      for (int x = 0; x < width; x++) {
        // out-of-range indices clamp, as in Pillow; alpha is dropped
        out[o++] = rgb[Math.min(row[x], size - 1)] & 0xffffff;
      }
    }
  }

  private static void grey(Raster raster, int bits, boolean clamp, int[] out) {
    int width = raster.getWidth();
    int[] row = new int[width];
    int max = (1 << Math.min(bits, 8)) - 1;
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
      for (int x = 0; x < width; x++) {
        int v;
        if (bits < 8) {
          v = row[x] * 255 / max;
        } else if (bits == 8) {
          v = row[x];
        } else {
          v = clamp ? Math.min(row[x], 255) : row[x] >>> (bits - 8);
        }
        out[o++] = v << 16 | v << 8 | v;
      }
    }
  }

  private static void highBytes(Raster raster, int bits, int[] out) {
    int width = raster.getWidth();
    int shift = bits - 8;
    int[] r = new int[width];
    int[] g = new int[width];
    int[] b = new int[width];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      int ry = raster.getMinY() + y;
      raster.getSamples(raster.getMinX(), ry, width, 1, 0, r);
      raster.getSamples(raster.getMinX(), ry, width, 1, 1, g);
      raster.getSamples(raster.getMinX(), ry, width, 1, 2, b);
      for (int x = 0; x < width; x++) {
        out[o++] = (r[x] >>> shift) << 16 | (g[x] >>> shift) << 8 | (b[x] >>> shift);
      }
    }
  }

  private static void viaJava2d(BufferedImage image, int[] out) {
    int width = image.getWidth();
    int[] row = new int[width];
    int o = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      image.getRGB(0, y, width, 1, row, 0, width); // non-premultiplied sRGB; alpha dropped below
      for (int x = 0; x < width; x++) {
        out[o++] = row[x] & 0xffffff;
      }
    }
  }

  /**
   * A four-component JPEG raster (raw samples) to RGB like Pillow: Adobe-style inverted CMYK is
   * un-inverted ({@code CMYK;I}), YCCK (Adobe transform 2) is first turned into CMYK as libjpeg
   * does, then {@code R = (255 - K) - (C * (255 - K)) / 255} with Pillow's rounding division, same
   * for G (M) and B (Y).
   */
  static PackedImage fromCmyk(Raster raster, int adobeTransform) {
    int width = raster.getWidth();
    int height = raster.getHeight();
    int[] out = new int[Math.multiplyExact(width, height)];
    int[][] s = new int[4][width];
    int o = 0;
    for (int y = 0; y < height; y++) {
      for (int band = 0; band < 4; band++) {
        raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, band, s[band]);
      }
      for (int x = 0; x < width; x++) {
        int c = s[0][x];
        int m = s[1][x];
        int ye = s[2][x];
        if (adobeTransform == 2) {
          // YCC -> inverted RGB in libjpeg's 16-bit fixed point (ycck_cmyk_convert)
          int luma = c;
          int cb = m - 128;
          int cr = ye - 128;
          c = 255 - clamp(luma + ((FIX_1_402 * cr + HALF) >> 16));
          m = 255 - clamp(luma + ((-FIX_0_344 * cb - FIX_0_714 * cr + HALF) >> 16));
          ye = 255 - clamp(luma + ((FIX_1_772 * cb + HALF) >> 16));
        }
        // Adobe convention: stored inverted
        int nk = s[3][x]; // 255 - K, since K is stored inverted too
        c = 255 - c;
        m = 255 - m;
        ye = 255 - ye;
        out[o++] = channel(c, nk) << 16 | channel(m, nk) << 8 | channel(ye, nk);
      }
    }
    return new PackedImage(width, height, out);
  }

  private static int channel(int ink, int notBlack) {
    int t = ink * notBlack + 128;
    int scaled = ((t >> 8) + t) >> 8;
    return clamp(notBlack - scaled);
  }

  private static int clamp(int v) {
    return v < 0 ? 0 : Math.min(v, 255);
  }
}

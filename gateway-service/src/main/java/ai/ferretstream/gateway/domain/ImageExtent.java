package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.image.ImageHeader;

/**
 * The size of an image as displayed, read from its header without decoding it: width and height of
 * the formats the tiler reads (JPEG, PNG, GIF, BMP, WebP), swapped when the EXIF orientation turns
 * the image by 90°. Regions of the native API are given in pixels of the image as displayed, so the
 * gateway checks them against this size before anything is published. The header is read by the
 * shared {@link ImageHeader}, the same reader the tiler decodes with.
 *
 * @param width pixels across, as displayed
 * @param height pixels down, as displayed
 */
public record ImageExtent(int width, int height) {

  /** The displayed size of {@code image}, or null when its header does not tell (not an image). */
  public static ImageExtent of(byte[] image) {
    ImageHeader header = ImageHeader.read(image);
    if (header == null || !header.hasSize()) {
      return null;
    }
    return new ImageExtent(header.displayedWidth(), header.displayedHeight());
  }

  @Override
  public String toString() {
    return width + "x" + height;
  }
}

package ai.ferretstream.proto.image;

import static ai.ferretstream.proto.image.HeaderBytes.ascii;
import static ai.ferretstream.proto.image.HeaderBytes.startsWith;

/**
 * The image formats the pipeline reads (the tiler decodes them, the gateway reads their size),
 * recognised by their signature bytes, never by a name.
 */
public enum ImageFormat {
  JPEG,
  PNG,
  GIF,
  BMP,
  WEBP;

  /** The format of {@code data}, or {@code null} when it is none of ours. */
  public static ImageFormat sniff(byte[] data) {
    if (startsWith(data, 0, 0xFF, 0xD8, 0xFF)) {
      return JPEG;
    }
    if (startsWith(data, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return PNG;
    }
    if (ascii(data, 0, "GIF87a") || ascii(data, 0, "GIF89a")) {
      return GIF;
    }
    if (ascii(data, 0, "BM") && data.length >= 26) {
      return BMP;
    }
    if (ascii(data, 0, "RIFF") && ascii(data, 8, "WEBP")) {
      return WEBP;
    }
    return null;
  }

  /** A name for formats we recognise but do not read, for a helpful refusal; else null. */
  public static String describeOther(byte[] data) {
    if (ascii(data, 0, "II*\0") || ascii(data, 0, "MM\0*")) {
      return "TIFF";
    }
    if (ascii(data, 4, "ftypheic")
        || ascii(data, 4, "ftypheix")
        || ascii(data, 4, "ftypmif1")
        || ascii(data, 4, "ftyphevc")) {
      return "HEIC/HEIF";
    }
    if (ascii(data, 4, "ftypavif")) {
      return "AVIF";
    }
    if (ascii(data, 0, "%PDF")) {
      return "PDF";
    }
    if (startsWith(data, 0, 0x00, 0x00, 0x00, 0x0C, 'j', 'P')) {
      return "JPEG 2000";
    }
    if (ascii(data, 0, "<?xml") || ascii(data, 0, "<svg")) {
      return "SVG/XML";
    }
    return null;
  }
}

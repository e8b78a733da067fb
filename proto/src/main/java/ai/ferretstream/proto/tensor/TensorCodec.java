package ai.ferretstream.proto.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Raw tensor encodings as Triton's {@code raw_input_contents} / {@code raw_output_contents} and our
 * Kafka payloads use them: flattened row-major, little-endian, no stride or padding. BYTES elements
 * are a little-endian uint32 length followed by the bytes.
 */
public final class TensorCodec {

  private TensorCodec() {}

  /** FP16 little-endian bytes → floats. */
  public static float[] fp16ToFloats(byte[] raw) {
    if ((raw.length & 1) != 0) {
      throw new IllegalArgumentException("FP16 tensor has an odd byte count: " + raw.length);
    }
    float[] out = new float[raw.length / 2];
    fp16ToFloats(raw, 0, out, 0, out.length);
    return out;
  }

  /** Decodes {@code count} FP16 values starting at element {@code srcElement} into {@code dst}. */
  public static void fp16ToFloats(
      byte[] raw, int srcElement, float[] dst, int dstOffset, int count) {
    int p = srcElement * 2;
    for (int i = 0; i < count; i++, p += 2) {
      short h = (short) ((raw[p] & 0xff) | (raw[p + 1] << 8));
      dst[dstOffset + i] = Fp16.toFloat(h);
    }
  }

  /** Floats → FP16 little-endian bytes (round to nearest even). */
  public static byte[] floatsToFp16(float[] values) {
    return floatsToFp16(values, 0, values.length);
  }

  public static byte[] floatsToFp16(float[] values, int offset, int count) {
    byte[] out = new byte[count * 2];
    floatsToFp16(values, offset, count, out, 0);
    return out;
  }

  /**
   * Writes {@code count} floats as FP16 little-endian into {@code dst} from byte {@code dstByte}.
   */
  public static void floatsToFp16(float[] values, int offset, int count, byte[] dst, int dstByte) {
    for (int i = 0, p = dstByte; i < count; i++, p += 2) {
      short h = Fp16.fromFloat(values[offset + i]);
      dst[p] = (byte) h;
      dst[p + 1] = (byte) (h >>> 8);
    }
  }

  /** FP32 little-endian bytes → floats. */
  public static float[] fp32ToFloats(byte[] raw) {
    if ((raw.length & 3) != 0) {
      throw new IllegalArgumentException(
          "FP32 tensor byte count not a multiple of 4: " + raw.length);
    }
    float[] out = new float[raw.length / 4];
    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  public static byte[] floatsToFp32(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return buf.array();
  }

  public static int[] int32s(byte[] raw) {
    if ((raw.length & 3) != 0) {
      throw new IllegalArgumentException(
          "INT32 tensor byte count not a multiple of 4: " + raw.length);
    }
    int[] out = new int[raw.length / 4];
    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
    return out;
  }

  public static byte[] int32Bytes(int... values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asIntBuffer().put(values);
    return buf.array();
  }

  public static long[] int64s(byte[] raw) {
    if ((raw.length & 7) != 0) {
      throw new IllegalArgumentException(
          "INT64 tensor byte count not a multiple of 8: " + raw.length);
    }
    long[] out = new long[raw.length / 8];
    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
    return out;
  }

  public static byte[] int64Bytes(long... values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asLongBuffer().put(values);
    return buf.array();
  }

  /** BYTES tensor of UTF-8 strings: each element a LE uint32 length, then its bytes. */
  public static byte[] stringsToBytesTensor(List<String> values) {
    List<byte[]> encoded = new ArrayList<>(values.size());
    int total = 0;
    for (String v : values) {
      byte[] b = v.getBytes(StandardCharsets.UTF_8);
      encoded.add(b);
      total += 4 + b.length;
    }
    ByteBuffer buf = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
    for (byte[] b : encoded) {
      buf.putInt(b.length).put(b);
    }
    return buf.array();
  }

  /** The UTF-8 strings of a BYTES tensor. */
  public static List<String> bytesTensorToStrings(byte[] raw) {
    ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    List<String> out = new ArrayList<>();
    while (buf.hasRemaining()) {
      if (buf.remaining() < 4) {
        throw new IllegalArgumentException("BYTES tensor ends inside a length prefix");
      }
      long len = Integer.toUnsignedLong(buf.getInt());
      if (len > buf.remaining()) {
        throw new IllegalArgumentException(
            "BYTES element of "
                + len
                + " bytes overruns the tensor ("
                + buf.remaining()
                + " left)");
      }
      byte[] b = new byte[(int) len];
      buf.get(b);
      out.add(new String(b, StandardCharsets.UTF_8));
    }
    return out;
  }

  /** Product of the dimensions; rejects negative (variable) dimensions and overflow. */
  public static long elementCount(long... shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("shape has a variable dimension: " + d);
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Bytes per element of a KServe v2 datatype; -1 for BYTES (variable). */
  public static int elementSize(String datatype) {
    return switch (datatype) {
      case "BOOL", "UINT8", "INT8" -> 1;
      case "UINT16", "INT16", "FP16", "BF16" -> 2;
      case "UINT32", "INT32", "FP32" -> 4;
      case "UINT64", "INT64", "FP64" -> 8;
      case "BYTES" -> -1;
      default -> throw new IllegalArgumentException("unknown datatype " + datatype);
    };
  }
}

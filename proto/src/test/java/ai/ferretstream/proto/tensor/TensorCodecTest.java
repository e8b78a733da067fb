package ai.ferretstream.proto.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TensorCodecTest {

  @Test
  void writesFp16LittleEndianRowMajor() {
    byte[] raw = TensorCodec.floatsToFp16(new float[] {1.0f, -2.0f, 65504f});
    assertThat(raw).containsExactly(0x00, 0x3c, 0x00, (byte) 0xc0, (byte) 0xff, 0x7b);
    assertThat(TensorCodec.fp16ToFloats(raw)).containsExactly(1.0f, -2.0f, 65504f);
  }

  @Test
  void decodesASliceOfAnFp16Tensor() {
    byte[] raw = TensorCodec.floatsToFp16(new float[] {0.5f, 1.5f, 2.5f, 3.5f});
    float[] out = new float[3];
    TensorCodec.fp16ToFloats(raw, 1, out, 1, 2);
    assertThat(out).containsExactly(0f, 1.5f, 2.5f);
  }

  @Test
  void writesFp16IntoAnExistingBufferAtAnOffset() {
    byte[] dst = new byte[6];
    TensorCodec.floatsToFp16(new float[] {9f, 1.0f, -2.0f}, 1, 2, dst, 2);
    assertThat(dst).containsExactly(0, 0, 0x00, 0x3c, 0x00, (byte) 0xc0);
  }

  @Test
  void refusesOddFp16ByteCounts() {
    assertThatThrownBy(() -> TensorCodec.fp16ToFloats(new byte[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("odd");
  }

  @Test
  void encodesBytesElementsWithLittleEndianLengthPrefix() {
    byte[] raw = TensorCodec.stringsToBytesTensor(List.of("hi", ""));
    assertThat(raw).containsExactly(2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0);
    assertThat(TensorCodec.bytesTensorToStrings(raw)).containsExactly("hi", "");
  }

  @Test
  void refusesABytesElementThatOverrunsTheTensor() {
    assertThatThrownBy(() -> TensorCodec.bytesTensorToStrings(new byte[] {9, 0, 0, 0, 'a'}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("overruns");
  }

  @Test
  void roundTripsIntegerAndFp32Tensors() {
    assertThat(TensorCodec.int32Bytes(1, -1)).containsExactly(1, 0, 0, 0, -1, -1, -1, -1);
    assertThat(TensorCodec.int32s(TensorCodec.int32Bytes(7, 336))).containsExactly(7, 336);
    assertThat(TensorCodec.int64s(TensorCodec.int64Bytes(5L, -3L))).containsExactly(5L, -3L);
    assertThat(TensorCodec.floatsToFp32(new float[] {1.0f}))
        .containsExactly(0, 0, (byte) 0x80, 0x3f);
    assertThat(TensorCodec.fp32ToFloats(TensorCodec.floatsToFp32(new float[] {0.25f, -8f})))
        .containsExactly(0.25f, -8f);
  }

  @Test
  void countsElementsAndRefusesVariableDimensions() {
    assertThat(TensorCodec.elementCount(2, 576, 1024)).isEqualTo(2L * 576 * 1024);
    assertThatThrownBy(() -> TensorCodec.elementCount(-1, 3))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(TensorCodec.elementSize("FP16")).isEqualTo(2);
    assertThat(TensorCodec.elementSize("BYTES")).isEqualTo(-1);
  }
}

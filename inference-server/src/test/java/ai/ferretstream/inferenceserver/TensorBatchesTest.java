package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TensorBatchesTest {

  static Tensor fp32(String name, long[] shape, float... values) {
    return new Tensor(name, "FP32", shape, ByteString.copyFrom(TensorCodec.floatsToFp32(values)));
  }

  static InferInputs inputs(Tensor... tensors) {
    Map<String, Tensor> map = new LinkedHashMap<>();
    for (Tensor t : tensors) {
      map.put(t.name(), t);
    }
    return new InferInputs(map, (int) tensors[0].dim(0));
  }

  @Test
  void joinsRowsInOrderAndSplitsThemBack() {
    InferInputs a = inputs(fp32("x", new long[] {1, 2}, 1, 2));
    InferInputs b = inputs(fp32("x", new long[] {2, 2}, 3, 4, 5, 6));

    InferInputs joined = TensorBatches.concat(List.of(a, b));

    assertThat(joined.batchSize()).isEqualTo(3);
    assertThat(joined.get("x").shape()).containsExactly(3, 2);
    assertThat(TensorCodec.fp32ToFloats(joined.get("x").data().toByteArray()))
        .containsExactly(1, 2, 3, 4, 5, 6);

    List<Map<String, Tensor>> parts =
        TensorBatches.split(List.of(joined.get("x")), new int[] {1, 2});
    assertThat(parts.get(0).get("x")).isEqualTo(a.get("x"));
    assertThat(parts.get(1).get("x")).isEqualTo(b.get("x"));
  }

  @Test
  void splitsBytesTensorsByTheirElements() {
    Tensor t =
        new Tensor(
            "s", "BYTES", new long[] {3, 2}, TestTensors.strings("a", "bb", "", "ccc", "d", "e"));

    List<Map<String, Tensor>> parts = TensorBatches.split(List.of(t), new int[] {2, 1});

    assertThat(parts.get(0).get("s").shape()).containsExactly(2, 2);
    assertThat(TensorCodec.bytesTensorToStrings(parts.get(0).get("s").data().toByteArray()))
        .containsExactly("a", "bb", "", "ccc");
    assertThat(TensorCodec.bytesTensorToStrings(parts.get(1).get("s").data().toByteArray()))
        .containsExactly("d", "e");
  }

  @Test
  void signaturesDifferWhenDatatypesOrNonBatchDimensionsDiffer() {
    String base = TensorBatches.signature(inputs(fp32("x", new long[] {1, 2}, 1, 2)));

    assertThat(TensorBatches.signature(inputs(fp32("x", new long[] {4, 2}, new float[8]))))
        .isEqualTo(base);
    assertThat(TensorBatches.signature(inputs(fp32("x", new long[] {1, 3}, 1, 2, 3))))
        .isNotEqualTo(base);
    assertThat(
            TensorBatches.signature(
                inputs(
                    new Tensor("x", "INT32", new long[] {1, 2}, ByteString.copyFrom(new byte[8])))))
        .isNotEqualTo(base);
  }

  @Test
  void refusesOutputsWhoseFirstDimensionIsNotTheBatch() {
    Tensor wrong = fp32("y", new long[] {2, 1}, 1, 2);

    assertThatThrownBy(() -> TensorBatches.split(List.of(wrong), new int[] {1, 2}))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining("output 'y' with shape [2, 1] for a batch of 3 rows");
  }
}

package ai.ferretstream.proto.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageTokensTest {

  private static ByteString map(int seed, int bytes) {
    byte[] b = new byte[bytes];
    for (int i = 0; i < bytes; i++) {
      b[i] = (byte) (seed * 31 + i * 7);
    }
    return ByteString.copyFrom(b);
  }

  @Test
  void theMergeOfBuffersOrByteStringsHoldsTheSameBytesAsTheCopyForEveryGrid() {
    int patch = 3;
    int channels = 2;
    int tileBytes = patch * patch * channels * 2;
    for (int[] grid : new int[][] {{1, 1}, {1, 2}, {2, 1}, {2, 3}, {3, 2}}) {
      int rows = grid[0];
      int cols = grid[1];
      ByteString global = map(99, 4 * channels * 2);
      List<ByteString> locals = new ArrayList<>();
      List<TensorBytes> buffers = new ArrayList<>();
      List<TensorBytes> strings = new ArrayList<>();
      for (int k = 0; k < rows * cols; k++) {
        locals.add(map(k, tileBytes));
        // native memory, and a window that does not start at 0, as a mapped file's maps are
        java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(tileBytes + 5);
        direct.position(5);
        direct.put(map(k, tileBytes).asReadOnlyByteBuffer()).position(5);
        buffers.add(TensorBytes.of(direct));
        strings.add(TensorBytes.of(map(k, tileBytes)));
      }
      byte[] copied = ImageTokens.of(global, locals, rows, cols, patch, patch, channels);
      TensorBytes merged =
          ImageTokens.merge(TensorBytes.of(global), buffers, rows, cols, patch, patch, channels);
      TensorBytes ofStrings =
          ImageTokens.merge(TensorBytes.of(global), strings, rows, cols, patch, patch, channels);

      java.nio.ByteBuffer window = java.nio.ByteBuffer.allocateDirect(copied.length + 3);
      window.position(3);
      merged.copyTo(window);
      byte[] written = new byte[copied.length];
      window.get(3, written);
      assertThat(merged.size()).isEqualTo(copied.length);
      assertThat(written).as("%dx%d", cols, rows).isEqualTo(copied);
      assertThat(window.position()).isEqualTo(3 + copied.length);
      assertThat(merged.toByteString().toByteArray()).isEqualTo(copied);
      // written twice, the same: the merge does not consume its buffers
      assertThat(merged.toByteString().toByteArray()).isEqualTo(copied);
      assertThat(ofStrings.toByteString().toByteArray()).as("%dx%d", cols, rows).isEqualTo(copied);
      // a window across pieces is those bytes
      int from = copied.length / 3;
      int to = copied.length - 5;
      assertThat(merged.slice(from, to - from).toByteString().toByteArray())
          .isEqualTo(java.util.Arrays.copyOfRange(copied, from, to));
    }
  }

  /** The merge of maps that are ByteStrings, as a message carries them. */
  private static ByteString merge(
      ByteString global,
      List<ByteString> locals,
      int rows,
      int cols,
      int patchRows,
      int patchCols,
      int channels) {
    return ImageTokens.merge(
            TensorBytes.of(global),
            locals.stream().map(TensorBytes::of).toList(),
            rows,
            cols,
            patchRows,
            patchCols,
            channels)
        .toByteString();
  }

  @Test
  void theMergeRefusesMapsThatDoNotFitTheGrid() {
    TensorBytes global = TensorBytes.of(java.nio.ByteBuffer.allocate(8));
    TensorBytes tile = TensorBytes.of(java.nio.ByteBuffer.allocate(3 * 3 * 2 * 2));
    assertThatThrownBy(() -> ImageTokens.merge(global, List.of(tile), 1, 2, 3, 3, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected 2 local maps");
    assertThatThrownBy(
            () ->
                ImageTokens.merge(
                    global,
                    List.of(TensorBytes.of(java.nio.ByteBuffer.allocate(35))),
                    1,
                    1,
                    3,
                    3,
                    2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("local map 0 has 35 bytes, expected 36");
  }

  @Test
  void tileRowKLandsInTheMergedRowOfItsGridRow() {
    // 1 row x 2 cols of 1x1-patch tiles with one FP16 channel: [global][left][right]
    ByteString global = ByteString.copyFrom(new byte[] {9, 9});
    List<ByteString> locals =
        List.of(ByteString.copyFrom(new byte[] {1, 1}), ByteString.copyFrom(new byte[] {2, 2}));
    assertThat(merge(global, locals, 1, 2, 1, 1, 1).toByteArray())
        .containsExactly(9, 9, 1, 1, 2, 2);
  }

  @Test
  void refusesMapsOfTheWrongSize() {
    List<ByteString> locals = List.of(ByteString.copyFrom(new byte[3]));
    assertThatThrownBy(() -> merge(ByteString.EMPTY, locals, 1, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected 2");
  }
}

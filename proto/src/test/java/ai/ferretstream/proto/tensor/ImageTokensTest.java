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
  void theViewHoldsTheSameBytesAsTheCopyForEveryGrid() {
    int patch = 3;
    int channels = 2;
    int tileBytes = patch * patch * channels * 2;
    for (int[] grid : new int[][] {{1, 1}, {1, 2}, {2, 1}, {2, 3}, {3, 2}}) {
      int rows = grid[0];
      int cols = grid[1];
      ByteString global = map(99, 4 * channels * 2);
      List<ByteString> locals = new ArrayList<>();
      for (int k = 0; k < rows * cols; k++) {
        locals.add(map(k, tileBytes));
      }
      byte[] copied = ImageTokens.of(global, locals, rows, cols, patch, patch, channels);
      ByteString view = ImageTokens.view(global, locals, rows, cols, patch, patch, channels);
      assertThat(view.toByteArray()).as("%dx%d", cols, rows).isEqualTo(copied);
    }
  }

  @Test
  void tileRowKLandsInTheMergedRowOfItsGridRow() {
    // 1 row x 2 cols of 1x1-patch tiles with one FP16 channel: [global][left][right]
    ByteString global = ByteString.copyFrom(new byte[] {9, 9});
    List<ByteString> locals =
        List.of(ByteString.copyFrom(new byte[] {1, 1}), ByteString.copyFrom(new byte[] {2, 2}));
    assertThat(ImageTokens.view(global, locals, 1, 2, 1, 1, 1).toByteArray())
        .containsExactly(9, 9, 1, 1, 2, 2);
  }

  @Test
  void refusesMapsOfTheWrongSize() {
    List<ByteString> locals = List.of(ByteString.copyFrom(new byte[3]));
    assertThatThrownBy(() -> ImageTokens.view(ByteString.EMPTY, locals, 1, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected 2");
  }
}

package ai.ferretstream.fusion.domain;

import static ai.ferretstream.fusion.TestFeatures.globalValue;
import static ai.ferretstream.fusion.TestFeatures.localValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FeatureMapsTest {

  private static final RequestContext CONTEXT = TestFeatures.context("r", 0);

  private static byte[] tokens(int cols, int rows, int patches, int channels) {
    GridLayout layout = TestFeatures.layout(cols, rows, 100, 100);
    List<ByteString> locals = new ArrayList<>();
    for (int k = 0; k < cols * rows; k++) {
      locals.add(TestFeatures.local(CONTEXT, layout, k, patches, channels).getFeaturesFp16());
    }
    ByteString global = TestFeatures.global(CONTEXT, layout, patches, channels).getFeaturesFp16();
    return ImageTokens.of(global, locals, rows, cols, patches, patches, channels);
  }

  @Test
  void mergePutsTileKAtTileRowKDivColsAndTileColumnKModCols() {
    int cols = 3;
    int rows = 2;
    int p = 4;
    int ch = 3;
    float[] t = TensorCodec.fp16ToFloats(tokens(cols, rows, p, ch));
    int globalFloats = p * p * ch;
    int w = cols * p;
    for (int y = 0; y < rows * p; y++) {
      for (int x = 0; x < w; x++) {
        int k = (y / p) * cols + x / p;
        for (int c = 0; c < ch; c++) {
          assertThat(t[globalFloats + (y * w + x) * ch + c])
              .as("merged (%d, %d) channel %d", y, x, c)
              .isEqualTo(localValue(k, y % p, x % p, c));
        }
      }
    }
  }

  @Test
  void imageTokensStartWithTheGlobalMapUnchanged() {
    int p = 3;
    int ch = 2;
    float[] t = TensorCodec.fp16ToFloats(tokens(2, 1, p, ch));
    assertThat(t).hasSize(p * p * ch * 3);
    for (int r = 0; r < p; r++) {
      for (int c = 0; c < p; c++) {
        for (int k = 0; k < ch; k++) {
          assertThat(t[(r * p + c) * ch + k]).isEqualTo(globalValue(r, c, k));
        }
      }
    }
  }

  @Test
  void mergeReadsTilesThatAreViewsIntoLargerBuffers() {
    byte[] a = {9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    byte[] b = {9, 11, 12, 13, 14, 15, 16, 17, 18};
    List<ByteString> tiles =
        List.of(ByteString.copyFrom(a).substring(2, 10), ByteString.copyFrom(b).substring(1, 9));
    byte[] out = new byte[16];
    // 2 tiles side by side, each 2x1 patches of 2 channels: rows interleave
    ImageTokens.mergeLocal(tiles, 1, 2, 2, 1, 2, out, 0);
    assertThat(out).containsExactly(1, 2, 3, 4, 11, 12, 13, 14, 5, 6, 7, 8, 15, 16, 17, 18);
  }

  @Test
  void mergeRejectsATileOfTheWrongSize() {
    List<ByteString> locals = List.of(ByteString.copyFrom(new byte[10]));
    assertThatThrownBy(() -> ImageTokens.of(ByteString.EMPTY, locals, 1, 1, 2, 2, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected 16");
  }

  @Test
  void nearestIndicesReplicateEachSourceKTimesForIntegerFactors() {
    AxisResampling twice = AxisResampling.nearest(24, 48);
    AxisResampling thrice = AxisResampling.nearest(24, 72);
    for (int d = 0; d < 72; d++) {
      assertThat(thrice.lo()[d]).isEqualTo(d / 3);
    }
    for (int d = 0; d < 48; d++) {
      assertThat(twice.lo()[d]).isEqualTo(d / 2);
    }
  }

  @Test
  void nearestUsesTheLegacyFloorFormulaForOtherFactors() {
    // torch.nn.functional.interpolate(x, size=5) on 3 positions reads 0, 0, 1, 1, 2
    assertThat(AxisResampling.nearest(3, 5).lo()).containsExactly(0, 0, 1, 1, 2);
    // 24 -> 60 (x2.5): floor(d * 0.4)
    AxisResampling r = AxisResampling.nearest(24, 60);
    for (int d = 0; d < 60; d++) {
      assertThat(r.lo()[d]).isEqualTo((int) Math.floor(d * (24f / 60f)));
    }
    // 5 -> 3 (downscale) reads 0, 1, 3
    assertThat(AxisResampling.nearest(5, 3).lo()).containsExactly(0, 1, 3);
  }

  @Test
  void bilinearMatchesPyTorchWithAlignCornersFalse() {
    // F.interpolate([[0, 4], [8, 12]], size=(4, 4), mode="bilinear", align_corners=False)
    byte[] maps = maps(new float[] {0, 4, 8, 12}, new float[16]);
    float[] out = fused(maps, 0, 2, 2, 8, 4, 4, 1, UpsampleMode.BILINEAR);
    assertThat(out).containsExactly(0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12);
  }

  @Test
  void bilinearDownscaleReadsBetweenSourcePixels() {
    // 4 -> 2: src = (d + 0.5) * 2 - 0.5 = 0.5, 2.5: the means of pixels (0, 1) and (2, 3)
    AxisResampling r = AxisResampling.bilinear(4, 2);
    assertThat(r.lo()).containsExactly(0, 2);
    assertThat(r.hi()).containsExactly(1, 3);
    assertThat(r.loWeight()).containsExactly(0.5f, 0.5f);
  }

  @Test
  void nearestUpsampleReplicatesTheGlobalMapAndAddsTheLocalMap() {
    float[] global = {1, 2, 3, 4};
    float[] local = new float[16];
    for (int i = 0; i < 16; i++) {
      local[i] = 100 * i;
    }
    float[] out = fused(maps(global, local), 0, 2, 2, 8, 4, 4, 1, UpsampleMode.NEAREST);
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 4; x++) {
        assertThat(out[y * 4 + x]).isEqualTo(local[y * 4 + x] + global[(y / 2) * 2 + x / 2]);
      }
    }
  }

  @Test
  void paddedPlacementUpsamplesTheGlobalMapOntoTheContentCellsOnly() {
    float[] global = {1, 2, 3, 4};
    float[] local = new float[16];
    for (int i = 0; i < 16; i++) {
      local[i] = 100 * i;
    }
    // the image fills rows 1..2 of the 4x4 local map (a canvas padded above and below)
    float[] out =
        TensorCodec.fp16ToFloats(
            FeatureMaps.fusedMapFp16(
                maps(global, local),
                0,
                2,
                2,
                8,
                4,
                4,
                1,
                UpsampleMode.NEAREST,
                new FeatureMaps.Placement(0, 1, 4, 2),
                true));
    for (int x = 0; x < 4; x++) {
      assertThat(out[x]).as("padding row 0, column %d", x).isEqualTo(local[x]);
      assertThat(out[4 + x]).as("row 1").isEqualTo(local[4 + x] + global[x / 2]);
      assertThat(out[8 + x]).as("row 2").isEqualTo(local[8 + x] + global[2 + x / 2]);
      assertThat(out[12 + x]).as("padding row 3, column %d", x).isEqualTo(local[12 + x]);
    }
  }

  @Test
  void paddedPlacementStartingInsideACellUsesCellCentres() {
    float[] global = {1, 2};
    float[] local = new float[6];
    // 1x6 local map, the image on columns 0.5 .. 4.5: centres 0.5 .. 3.5 are inside
    float[] out =
        TensorCodec.fp16ToFloats(
            FeatureMaps.fusedMapFp16(
                maps(global, local),
                0,
                1,
                2,
                4,
                1,
                6,
                1,
                UpsampleMode.BILINEAR,
                new FeatureMaps.Placement(0.5, 0, 4, 1),
                true));
    // t = (x + 0.5 - 0.5) / 4, src = max(t * 2 - 0.5, 0): 0, 0, 0.5, 1 -> 1, 1, 1.5, 2; x 4, 5 out
    assertThat(out).containsExactly(1f, 1f, 1.5f, 2f, 0f, 0f);
  }

  @Test
  void wholePlacementIsTheStretchedFusedMap() {
    byte[] t = tokens(3, 2, 4, 2);
    int offset = 4 * 4 * 2 * 2;
    for (UpsampleMode mode : UpsampleMode.values()) {
      assertThat(
              FeatureMaps.fusedMapFp16(
                  t, 0, 4, 4, offset, 8, 12, 2, mode, new FeatureMaps.Placement(0, 0, 12, 8), true))
          .as("%s", mode)
          .isEqualTo(FeatureMaps.fusedMapFp16(t, 0, 4, 4, offset, 8, 12, 2, mode));
    }
  }

  @Test
  void fusedMapAddsEveryChannelOfTheUpsampledGlobalMap() {
    int p = 2;
    int ch = 3;
    int cols = 2;
    byte[] t = tokens(cols, 1, p, ch);
    float[] out = fused(t, 0, p, p, p * p * ch * 2, p, cols * p, ch, UpsampleMode.NEAREST);
    // global 2x2 -> 2x4: rows identical, columns x2
    for (int y = 0; y < p; y++) {
      for (int x = 0; x < cols * p; x++) {
        for (int c = 0; c < ch; c++) {
          float expected = localValue(x / p, y, x % p, c) + globalValue(y, x / 2, c);
          assertThat(out[(y * cols * p + x) * ch + c]).isEqualTo(expected);
        }
      }
    }
  }

  @Test
  void fp16FusedMapIsTheRoundedFp32Reference() {
    byte[] t = tokens(3, 2, 4, 2);
    int offset = 4 * 4 * 2 * 2;
    float[] f = FusionReference.fusedMap(t, 0, 4, 4, offset, 8, 12, 2, UpsampleMode.BILINEAR);
    byte[] h = FeatureMaps.fusedMapFp16(t, 0, 4, 4, offset, 8, 12, 2, UpsampleMode.BILINEAR);
    float[] back = TensorCodec.fp16ToFloats(h);
    for (int i = 0; i < f.length; i++) {
      assertThat(back[i]).isEqualTo(Fp16.toFloat(Fp16.fromFloat(f[i])));
    }
  }

  @Test
  void fusedMapRejectsMapsThatAreTooShort() {
    assertThatThrownBy(
            () -> FeatureMaps.fusedMapFp16(new byte[8], 0, 2, 2, 8, 4, 4, 1, UpsampleMode.NEAREST))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** The service's FP16 map, decoded. */
  private static float[] fused(
      byte[] maps,
      int globalOffset,
      int gRows,
      int gCols,
      int mergedOffset,
      int h,
      int w,
      int channels,
      UpsampleMode mode) {
    return TensorCodec.fp16ToFloats(
        FeatureMaps.fusedMapFp16(
            maps, globalOffset, gRows, gCols, mergedOffset, h, w, channels, mode));
  }

  private static byte[] maps(float[] global, float[] local) {
    float[] all = new float[global.length + local.length];
    System.arraycopy(global, 0, all, 0, global.length);
    System.arraycopy(local, 0, all, global.length, local.length);
    return TensorCodec.floatsToFp16(all);
  }
}

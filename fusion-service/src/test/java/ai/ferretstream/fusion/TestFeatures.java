package ai.ferretstream.fusion;

import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;

/**
 * Feature records for tests. Every value is a small integer (exact in FP16) that encodes where it
 * came from, so a misplaced tile, patch or channel shows up as a wrong value.
 */
public final class TestFeatures {

  private TestFeatures() {}

  /** Value of local tile {@code k}, patch {@code (r, c)}, channel {@code ch}. */
  public static float localValue(int k, int r, int c, int ch) {
    return (k * 131 + r * 17 + c * 5 + ch * 3) % 1000;
  }

  /** Value of the global map at patch {@code (r, c)}, channel {@code ch}. */
  public static float globalValue(int r, int c, int ch) {
    return 1000 + (r * 13 + c * 7 + ch) % 1000;
  }

  public static GridLayout layout(int cols, int rows, int width, int height) {
    return GridLayout.newBuilder()
        .setCols(cols)
        .setRows(rows)
        .setImageWidth(width)
        .setImageHeight(height)
        .setTileSize(336)
        .setCanvasWidth(cols * 336)
        .setCanvasHeight(rows * 336)
        .build();
  }

  public static TileFeatures global(
      RequestContext context, GridLayout layout, int patches, int channels) {
    float[] v = new float[patches * patches * channels];
    for (int r = 0; r < patches; r++) {
      for (int c = 0; c < patches; c++) {
        for (int ch = 0; ch < channels; ch++) {
          v[(r * patches + c) * channels + ch] = globalValue(r, c, ch);
        }
      }
    }
    return features(context, layout, TileKind.TILE_KIND_GLOBAL, 0, patches, channels, v);
  }

  public static TileFeatures local(
      RequestContext context, GridLayout layout, int k, int patches, int channels) {
    float[] v = new float[patches * patches * channels];
    for (int r = 0; r < patches; r++) {
      for (int c = 0; c < patches; c++) {
        for (int ch = 0; ch < channels; ch++) {
          v[(r * patches + c) * channels + ch] = localValue(k, r, c, ch);
        }
      }
    }
    return features(context, layout, TileKind.TILE_KIND_LOCAL, k, patches, channels, v);
  }

  private static TileFeatures features(
      RequestContext context,
      GridLayout layout,
      TileKind kind,
      int index,
      int patches,
      int channels,
      float[] values) {
    return TileFeatures.newBuilder()
        .setContext(context)
        .setKind(kind)
        .setIndex(index)
        .setLocalCount(layout.getCols() * layout.getRows())
        .setLayout(layout)
        .setModel(kind == TileKind.TILE_KIND_GLOBAL ? "clip_vision" : "dinov2_vision")
        .setPatchRows(patches)
        .setPatchCols(patches)
        .setChannels(channels)
        .setFeaturesFp16(ByteString.copyFrom(TensorCodec.floatsToFp16(values)))
        .build();
  }

  public static RequestContext context(String requestId, long deadlineUnixMs) {
    return RequestContext.newBuilder()
        .setRequestId(requestId)
        .setDeadlineUnixMs(deadlineUnixMs)
        .setPrompt("What is this?")
        .build();
  }
}

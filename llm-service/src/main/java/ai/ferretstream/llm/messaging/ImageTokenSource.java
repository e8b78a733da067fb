package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.features.FeatureReader;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The image tokens of a fused context: the ones it carries (by value), or the ones laid out from
 * the feature records it names (by reference), read back from Kafka or the shared-memory feature
 * store and checked to belong to the request, in the order and with the shapes the context says.
 */
final class ImageTokenSource {

  private final FeatureReader reader;
  private final Timer readTimer;

  ImageTokenSource(FeatureReader reader, Timer readTimer) {
    this.reader = reader;
    this.readTimer = readTimer;
  }

  /**
   * The FP16 image tokens {@code [global + local tokens, C]}.
   *
   * @throws PermanentFailure {@code invalid_features} when the named records do not fit the
   *     context, {@code features_expired} when they are no longer in Kafka
   */
  TensorBytes of(FusedContext fused) throws InterruptedException {
    if (fused.getFeatureRefsCount() == 0) {
      return TensorBytes.of(fused.getImageTokensFp16());
    }
    long start = System.nanoTime();
    GridLayout layout = fused.getLayout();
    int rows = layout.getRows();
    int cols = layout.getCols();
    int refs = fused.getFeatureRefsCount();
    if (rows <= 0 || cols <= 0 || refs != 1 + rows * cols) {
      throw invalid(
          refs + " feature records named for a " + cols + "x" + rows + " grid (expected 1 + N)");
    }
    // the global map first, then the local maps in tile order: checked before anything is read
    for (int i = 0; i < refs; i++) {
      FeatureRef r = fused.getFeatureRefs(i);
      TileKind kind = i == 0 ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL;
      int index = i == 0 ? 0 : i - 1;
      if (r.getKind() != kind || r.getIndex() != index) {
        throw invalid(
            "feature_refs["
                + i
                + "] names "
                + r.getKind()
                + " "
                + r.getIndex()
                + " at "
                + FeatureRecords.where(r)
                + ", expected "
                + kind
                + " "
                + index);
      }
    }
    // the maps where they lie (views of the mapped feature files, or of the records read from
    // Kafka): written once, into the request's shared-memory window or its message
    List<FeatureReader.Maps> read =
        reader.readMaps(fused.getContext().getRequestId(), fused.getFeatureRefsList());
    FeatureReader.Maps global = read.get(0);
    List<TensorBytes> locals = new ArrayList<>(refs - 1);
    for (int k = 1; k < refs; k++) {
      locals.add(read.get(k).maps());
    }
    int patchRows = fused.getLocalTokenRows() / rows;
    int patchCols = fused.getLocalTokenCols() / cols;
    if (patchRows * rows != fused.getLocalTokenRows()
        || patchCols * cols != fused.getLocalTokenCols()
        || global.head().getChannels() != fused.getChannels()) {
      throw invalid(
          "the feature records do not fit the fused context's "
              + fused.getLocalTokenRows()
              + "x"
              + fused.getLocalTokenCols()
              + " local tokens of "
              + fused.getChannels()
              + " channels");
    }
    TensorBytes tokens;
    try {
      tokens =
          ImageTokens.merge(
              global.maps(), locals, rows, cols, patchRows, patchCols, fused.getChannels());
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
    readTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return tokens;
  }

  /**
   * The request of {@code fused} is answered: the shared-memory files it names, and its tile files
   * (ADR 0012), are removed (its Kafka records stay until retention removes them).
   */
  void release(FusedContext fused) {
    if (fused.getFeatureRefsCount() > 0) {
      reader.release(fused.getFeatureRefsList());
    }
    GridLayout layout = fused.getLayout();
    reader.releaseTiles(fused.getContext().getRequestId(), layout.getRows() * layout.getCols());
  }

  private static PermanentFailure invalid(String message) {
    return new PermanentFailure("invalid_features", message);
  }
}

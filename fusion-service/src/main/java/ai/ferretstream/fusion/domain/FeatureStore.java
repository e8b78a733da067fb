package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import java.util.List;

/** Where fusion reads back the feature records its notices name (ADR 0009). */
@FunctionalInterface
public interface FeatureStore {

  /** A store for joins whose pieces all carry their maps: reading one is a programming error. */
  FeatureStore NONE =
      (requestId, refs) -> {
        throw new IllegalStateException(
            "no feature store: the maps of " + requestId + " are named");
      };

  /**
   * The records at {@code refs}, in the same order, each checked to be the piece of request {@code
   * requestId} its reference names.
   *
   * @throws ai.ferretstream.proto.failure.PermanentFailure {@code invalid_features} for a record
   *     that is not the named piece, {@code features_expired} for one no longer in Kafka
   * @throws ai.ferretstream.proto.failure.TransientFailure when they could not be read in time
   */
  List<TileFeatures> read(String requestId, List<FeatureRef> refs) throws InterruptedException;
}

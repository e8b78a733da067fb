package ai.ferretstream.proto.kafka;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.MessageLite;

/**
 * Feature records by reference: the notice that names a {@code ferret.features} record (ADR 0009)
 * or a file of the shared-memory feature store (ADR 0011), and the check that a record read back by
 * its location is the piece a reader was told it is (ADR 0008).
 */
public final class FeatureRecords {

  private FeatureRecords() {}

  /** Where a record of {@code features} lies. */
  public static FeatureRef ref(TileFeatures features, String topic, int partition, long offset) {
    return FeatureRef.newBuilder()
        .setKind(features.getKind())
        .setIndex(features.getKind() == TileKind.TILE_KIND_GLOBAL ? 0 : features.getIndex())
        .setTopic(topic)
        .setPartition(partition)
        .setOffset(offset)
        .build();
  }

  /** Where a record of {@code features} lies in the shared-memory feature store (ADR 0011). */
  public static FeatureRef sharedRef(TileFeatures features, String file) {
    return FeatureRef.newBuilder()
        .setKind(features.getKind())
        .setIndex(features.getKind() == TileKind.TILE_KIND_GLOBAL ? 0 : features.getIndex())
        .setSharedFile(file)
        .build();
  }

  /** Whether {@code ref} names a file of the shared-memory feature store rather than Kafka. */
  public static boolean isShared(FeatureRef ref) {
    return !ref.getSharedFile().isEmpty();
  }

  /**
   * Whether {@code ref} names a place: a shared-memory file, or a topic with a partition and offset
   * (and not both).
   */
  public static boolean locates(FeatureRef ref) {
    if (isShared(ref)) {
      return ref.getTopic().isEmpty();
    }
    return !ref.getTopic().isEmpty() && ref.getPartition() >= 0 && ref.getOffset() >= 0;
  }

  /** The notice of a feature record stored at {@code storedAt}: the record less its maps. */
  public static TileFeatures notice(TileFeatures features, FeatureRef storedAt) {
    return withoutMaps(features).toBuilder().setStoredAt(storedAt).build();
  }

  /**
   * {@code features} without its maps, their length kept in {@code features_bytes}; a record
   * without maps is returned as it is.
   */
  public static TileFeatures withoutMaps(TileFeatures features) {
    if (features.getFeaturesFp16().isEmpty()) {
      return features;
    }
    return features.toBuilder()
        .clearFeaturesFp16()
        .setFeaturesBytes(features.getFeaturesFp16().size())
        .build();
  }

  /** Whether a record is a notice (names its maps) rather than carrying them. */
  public static boolean isNotice(TileFeatures features) {
    return features.hasStoredAt();
  }

  /**
   * The value read at {@code ref}, checked to be the piece {@code ref} names (its kind and index)
   * of request {@code requestId}.
   *
   * @throws PermanentFailure {@code invalid_features} naming what was found instead
   */
  public static TileFeatures named(MessageLite value, FeatureRef ref, String requestId) {
    if (!(value instanceof TileFeatures f) || isNotice(f)) {
      throw invalid("the record at " + where(ref) + " is not a feature record");
    }
    TileKind kind = ref.getKind();
    int index = ref.getIndex();
    if (!f.getContext().getRequestId().equals(requestId)
        || f.getKind() != kind
        || f.getIndex() != index) {
      throw invalid(
          "the record at "
              + where(ref)
              + " holds "
              + f.getKind()
              + " "
              + f.getIndex()
              + " of request "
              + f.getContext().getRequestId()
              + ", expected "
              + kind
              + " "
              + index
              + " of "
              + requestId);
    }
    return f;
  }

  /** {@code topic-partition@offset}, or {@code shared-memory:<file>}. */
  public static String where(FeatureRef ref) {
    if (isShared(ref)) {
      return "shared-memory:" + ref.getSharedFile();
    }
    return ref.getTopic() + "-" + ref.getPartition() + "@" + ref.getOffset();
  }

  private static PermanentFailure invalid(String message) {
    return new PermanentFailure("invalid_features", message);
  }
}

package ai.ferretstream.boot.features;

import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * Reads the feature records that references name, wherever each lies: in Kafka (read back by
 * location, ADR 0008) or in the host-local shared-memory store (ADR 0011). One request's records
 * may lie in both (an encoder whose store was full published to Kafka).
 */
public final class FeatureReader {

  private final RecordFetcher kafka;
  private final SharedFeatureStore shared;

  /**
   * @param kafka reads records back from Kafka
   * @param shared the shared-memory store, or {@code null} when this service takes no part in one
   */
  public FeatureReader(RecordFetcher kafka, SharedFeatureStore shared) {
    this.kafka = kafka;
    this.shared = shared;
  }

  /**
   * The records {@code refs} name, in the same order, each checked to be the named piece of request
   * {@code requestId}.
   *
   * @throws PermanentFailure {@code invalid_features} for a record that is not the named piece or a
   *     file this service cannot read, {@code features_expired} for one that is gone
   * @throws ai.ferretstream.proto.failure.TransientFailure when Kafka did not answer in time
   */
  public List<TileFeatures> read(String requestId, List<FeatureRef> refs)
      throws InterruptedException {
    return readEach(requestId, refs, ref -> store(ref).read(requestId, ref), f -> f);
  }

  /**
   * A feature record less its maps, and its maps ({@code [patches, C]} FP16) from position to
   * limit.
   *
   * @param head the record without {@code features_fp16}
   * @param maps the maps: a view of a mapped shared-memory file, or the bytes of a record read from
   *     Kafka
   */
  public record Maps(TileFeatures head, TensorBytes maps) {}

  /**
   * As {@link #read}, with the maps apart and not copied: those in the shared-memory store are
   * views of their mapped files, valid until {@link #release}; for a caller that writes them
   * somewhere else once (the llm, into a shared-memory window) and would otherwise copy them twice.
   *
   * @throws PermanentFailure as {@link #read}
   * @throws ai.ferretstream.proto.failure.TransientFailure as {@link #read}
   */
  public List<Maps> readMaps(String requestId, List<FeatureRef> refs) throws InterruptedException {
    return readEach(
        requestId,
        refs,
        ref -> store(ref).readMaps(requestId, ref),
        f -> new Maps(FeatureRecords.withoutMaps(f), TensorBytes.of(f.getFeaturesFp16())));
  }

  /**
   * Each of {@code refs}, in order: those in the shared-memory store one by one, those in Kafka in
   * one read.
   */
  private <T> List<T> readEach(
      String requestId,
      List<FeatureRef> refs,
      Function<FeatureRef, T> fromStore,
      Function<TileFeatures, T> fromKafka)
      throws InterruptedException {
    List<T> out = new ArrayList<>(Collections.nCopies(refs.size(), null));
    List<FeatureRef> inKafka = new ArrayList<>(refs.size());
    List<Integer> kafkaSlots = new ArrayList<>(refs.size());
    for (int i = 0; i < refs.size(); i++) {
      FeatureRef ref = refs.get(i);
      if (FeatureRecords.isShared(ref)) {
        out.set(i, fromStore.apply(ref));
      } else {
        inKafka.add(ref);
        kafkaSlots.add(i);
      }
    }
    if (!inKafka.isEmpty()) {
      List<TileFeatures> read = kafka.readFeatures(requestId, inKafka);
      for (int k = 0; k < read.size(); k++) {
        out.set(kafkaSlots.get(k), fromKafka.apply(read.get(k)));
      }
    }
    return out;
  }

  /** The shared-memory store {@code ref} lies in, or why this service cannot read it. */
  private SharedFeatureStore store(FeatureRef ref) {
    if (shared == null) {
      throw new PermanentFailure(
          "invalid_features",
          FeatureRecords.where(ref)
              + " lies in a shared-memory feature store, which this service does not read"
              + " (ferret.features.shared-memory.enabled is false)");
    }
    return shared;
  }

  /**
   * Removes the shared-memory files among {@code refs}: their request is answered. Records in Kafka
   * stay until its retention removes them.
   */
  public void release(List<FeatureRef> refs) {
    if (shared != null) {
      shared.release(refs);
    }
  }

  /**
   * Removes the shared-memory tile files of request {@code requestId} (ADR 0012), which has {@code
   * localCount} local tiles: it is answered. Tiles that travelled in Kafka have no files.
   */
  public void releaseTiles(String requestId, int localCount) {
    if (shared != null) {
      shared.releaseTiles(requestId, localCount);
    }
  }
}

package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.features.FeatureReader;
import ai.ferretstream.fusion.domain.FeatureStore;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads the feature records notices name where they lie (back from {@code ferret.features} by their
 * location, or from the shared-memory feature store) with the same {@link FeatureReader} the llm
 * reads image tokens with, checking that each is the named piece of the request.
 */
public final class FeatureReaderStore implements FeatureStore {

  private final FeatureReader reader;
  private final Timer readTimer;

  public FeatureReaderStore(FeatureReader reader, Timer readTimer) {
    this.reader = reader;
    this.readTimer = readTimer;
  }

  @Override
  public List<TileFeatures> read(String requestId, List<FeatureRef> refs)
      throws InterruptedException {
    long start = System.nanoTime();
    List<TileFeatures> records = reader.read(requestId, refs);
    readTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return records;
  }
}

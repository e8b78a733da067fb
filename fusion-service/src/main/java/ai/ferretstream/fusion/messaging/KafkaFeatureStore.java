package ai.ferretstream.fusion.messaging;

import ai.ferretstream.boot.kafka.RecordFetcher;
import ai.ferretstream.fusion.domain.FeatureStore;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads the feature records notices name back from {@code ferret.features} by their location (the
 * same {@link RecordFetcher} the llm reads image tokens with), checking that each is the named
 * piece of the request.
 */
public final class KafkaFeatureStore implements FeatureStore {

  private final RecordFetcher fetcher;
  private final Timer readTimer;

  public KafkaFeatureStore(RecordFetcher fetcher, Timer readTimer) {
    this.fetcher = fetcher;
    this.readTimer = readTimer;
  }

  @Override
  public List<TileFeatures> read(String requestId, List<FeatureRef> refs)
      throws InterruptedException {
    long start = System.nanoTime();
    List<TileFeatures> records = fetcher.readFeatures(requestId, refs);
    readTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return records;
  }
}

package ai.ferretstream.encoder.batching;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Request ids cancelled by their clients (from {@code ferret.control}), remembered for a while so
 * that tiles of those requests still in the topic or in the batch queue are dropped instead of
 * encoded. Bounded: at most {@code capacity} ids, each kept for {@code ttl}.
 */
public final class CancelledRequests {

  private final int capacity;
  private final long ttlMillis;
  private final LongSupplier clock;
  private final LinkedHashMap<String, Long> expiries = new LinkedHashMap<>();

  public CancelledRequests(int capacity, Duration ttl, LongSupplier clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    this.ttlMillis = ttl.toMillis();
    this.clock = clock;
  }

  public synchronized void cancel(String requestId) {
    long now = clock.getAsLong();
    expiries.remove(requestId);
    expiries.put(requestId, now + ttlMillis);
    evict(now);
  }

  public synchronized boolean isCancelled(String requestId) {
    Long expiry = expiries.get(requestId);
    return expiry != null && expiry > clock.getAsLong();
  }

  public synchronized int size() {
    return expiries.size();
  }

  private void evict(long now) {
    for (Iterator<Map.Entry<String, Long>> it = expiries.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Long> oldest = it.next();
      if (expiries.size() > capacity || oldest.getValue() <= now) {
        it.remove();
      } else {
        break; // insertion order = expiry order: the rest are younger
      }
    }
  }
}

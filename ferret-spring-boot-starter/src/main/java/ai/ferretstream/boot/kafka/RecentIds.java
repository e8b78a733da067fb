package ai.ferretstream.boot.kafka;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Request ids remembered for a while: requests cancelled by their clients (the encoder drops their
 * tiles), requests already answered (the llm service ignores a duplicate fused context). Bounded:
 * at most {@code capacity} ids, each kept for {@code ttl}; thread-safe.
 */
public final class RecentIds {

  private final int capacity;
  private final long ttlMillis;
  private final LongSupplier clock;
  private final LinkedHashMap<String, Long> expiries = new LinkedHashMap<>();

  public RecentIds(int capacity, Duration ttl, LongSupplier clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    this.ttlMillis = ttl.toMillis();
    this.clock = clock;
  }

  /** Remembers {@code requestId}; returns false when it was remembered already. */
  public synchronized boolean add(String requestId) {
    long now = clock.getAsLong();
    boolean known = contains(requestId);
    expiries.remove(requestId);
    expiries.put(requestId, now + ttlMillis);
    evict(now);
    return !known;
  }

  /** Forgets {@code requestId}. */
  public synchronized void remove(String requestId) {
    expiries.remove(requestId);
  }

  public synchronized boolean contains(String requestId) {
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

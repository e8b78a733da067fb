package ai.ferretstream.fusion.domain;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bounded, expiring memory of request ids whose join finished (fused, failed, expired or
 * refused), so that late or duplicate feature records of those requests are ignored instead of
 * opening a new join. Oldest entries go first when the memory is full. Not thread-safe: {@link
 * JoinBook} guards it.
 */
final class CompletedRequests {

  private final int capacity;
  private final long ttlMillis;
  private final LinkedHashMap<String, Long> expiries = new LinkedHashMap<>();

  CompletedRequests(int capacity, long ttlMillis) {
    if (capacity <= 0 || ttlMillis <= 0) {
      throw new IllegalArgumentException("capacity and ttl must be positive");
    }
    this.capacity = capacity;
    this.ttlMillis = ttlMillis;
  }

  void add(String requestId, long nowMillis) {
    expiries.remove(requestId);
    expiries.put(requestId, nowMillis + ttlMillis);
    evict(nowMillis);
  }

  boolean contains(String requestId, long nowMillis) {
    Long expiry = expiries.get(requestId);
    if (expiry == null) {
      return false;
    }
    if (expiry <= nowMillis) {
      expiries.remove(requestId);
      return false;
    }
    return true;
  }

  int size() {
    return expiries.size();
  }

  private void evict(long nowMillis) {
    Iterator<Map.Entry<String, Long>> it = expiries.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Long> eldest = it.next();
      if (expiries.size() > capacity || eldest.getValue() <= nowMillis) {
        it.remove();
      } else {
        break;
      }
    }
  }
}

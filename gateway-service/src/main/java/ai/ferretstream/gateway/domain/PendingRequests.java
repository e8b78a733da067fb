package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.v1.AnswerEvent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The requests this gateway instance waits on, by request id. Answer events are dispatched to their
 * request's {@link AnswerSink}; repeated events (at-least-once delivery) are dropped by sequence
 * number; error events (sequence {@value AnswerEvents#STAGE_ERROR_SEQ}) always end the request;
 * events of unknown requests are ignored. Nothing waits forever: {@link #expire} ends requests past
 * their deadline plus grace, {@link #failPartitions} those whose reply partition this instance
 * lost.
 */
public final class PendingRequests {

  /** The stage name written into errors the gateway raises itself. */
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();

  private final AtomicInteger size = new AtomicInteger();
  private final int capacity;
  private final String stage;

  /**
   * @param capacity the most requests pending at once; {@link #register} refuses beyond it
   * @param stage this service's name, in the error events it raises itself
   */
  public PendingRequests(int capacity, String stage) {
    this.stage = stage;
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive, was " + capacity);
    }
    this.capacity = capacity;
  }

  /**
   * Starts waiting for a request's answer.
   *
   * @param requestId the request id
   * @param replyPartition the answers partition its events arrive on
   * @param expiresAtMillis when to give up (unix ms): its deadline plus grace
   * @param sink where its events go
   * @return {@code false} when {@code capacity} requests are already pending
   * @throws IllegalStateException if the id is already pending
   */
  public boolean register(
      String requestId, int replyPartition, long expiresAtMillis, AnswerSink sink) {
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      return false;
    }
    Entry entry = new Entry(requestId, replyPartition, expiresAtMillis, sink);
    if (entries.putIfAbsent(requestId, entry) != null) {
      size.decrementAndGet();
      throw new IllegalStateException("request " + requestId + " is already pending");
    }
    return true;
  }

  /**
   * Delivers one answer event.
   *
   * @return whether it reached a pending request (false for unknown ids and duplicates)
   */
  public boolean dispatch(AnswerEvent event) {
    Entry entry = entries.get(event.getRequestId());
    if (entry == null) {
      return false;
    }
    synchronized (entry) {
      if (entry.ended) {
        return false;
      }
      if (event.hasError()) {
        finish(entry, event);
        return true;
      }
      if (event.getSeq() <= entry.lastSeq) {
        return false;
      }
      entry.lastSeq = event.getSeq();
      if (event.hasDone()) {
        finish(entry, event);
      } else {
        entry.sink.event(event);
      }
      return true;
    }
  }

  /**
   * Stops waiting without telling the sink (the client went away).
   *
   * @return whether the request was still pending
   */
  public boolean forget(String requestId) {
    Entry entry = entries.get(requestId);
    if (entry == null) {
      return false;
    }
    synchronized (entry) {
      if (entry.ended) {
        return false;
      }
      entry.ended = true;
      remove(entry);
      return true;
    }
  }

  /**
   * Ends a pending request with an error the gateway raises itself.
   *
   * @return whether the request was still pending
   */
  public boolean fail(String requestId, String code, String message, boolean retryable) {
    Entry entry = entries.get(requestId);
    if (entry == null) {
      return false;
    }
    synchronized (entry) {
      if (entry.ended) {
        return false;
      }
      finish(entry, AnswerEvents.error(requestId, stage, code, message, retryable));
      return true;
    }
  }

  /**
   * Ends every request whose expiry time is at or before {@code nowMillis} with {@code
   * deadline_exceeded}.
   *
   * @return the ids that expired
   */
  public List<String> expire(long nowMillis) {
    List<String> expired = new ArrayList<>();
    for (Entry entry : entries.values()) {
      if (entry.expiresAtMillis <= nowMillis
          && fail(
              entry.requestId,
              "deadline_exceeded",
              "no answer before the request's deadline",
              true)) {
        expired.add(entry.requestId);
      }
    }
    return expired;
  }

  /**
   * Ends every request whose reply partition is among {@code partitions} with a retryable error:
   * their answers now go to another gateway instance, which does not know them.
   *
   * @return the ids that were failed
   */
  public List<String> failPartitions(Collection<Integer> partitions) {
    List<String> failed = new ArrayList<>();
    for (Entry entry : entries.values()) {
      if (partitions.contains(entry.replyPartition)
          && fail(
              entry.requestId,
              "reply_partition_revoked",
              "this gateway instance lost the answers partition of the request during a"
                  + " rebalance; retry the request",
              true)) {
        failed.add(entry.requestId);
      }
    }
    return failed;
  }

  /** How many requests are pending. */
  public int size() {
    return size.get();
  }

  public int capacity() {
    return capacity;
  }

  public boolean isPending(String requestId) {
    return entries.containsKey(requestId);
  }

  private void finish(Entry entry, AnswerEvent last) {
    entry.ended = true;
    remove(entry);
    entry.sink.end(last);
  }

  private void remove(Entry entry) {
    if (entries.remove(entry.requestId, entry)) {
      size.decrementAndGet();
    }
  }

  private static final class Entry {
    final String requestId;
    final int replyPartition;
    final long expiresAtMillis;
    final AnswerSink sink;
    long lastSeq = -1;
    boolean ended;

    Entry(String requestId, int replyPartition, long expiresAtMillis, AnswerSink sink) {
      this.requestId = requestId;
      this.replyPartition = replyPartition;
      this.expiresAtMillis = expiresAtMillis;
      this.sink = sink;
    }
  }
}

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
 * request's {@link AnswerSink}; error events (sequence {@value AnswerEvents#STAGE_ERROR_SEQ})
 * always end the request.
 *
 * <p>No answer is ever spliced: the content of every event passed on is kept by sequence number. An
 * event whose number was passed on already is a redelivery, or part of the same request generated
 * again after the llm stage crashed (it starts again at seq 0): it is dropped if its content is the
 * same, and if it differs (sampling with temperature &gt; 0, a model that is not batch-invariant)
 * the request ends with the retryable error {@code answer_regenerated} instead of passing on the
 * rest of another answer (docs/reliability.md). Events of unknown requests are ignored. events of
 * unknown requests are ignored. Nothing waits forever: {@link #expire} ends requests past their
 * deadline plus grace, {@link #failPartitions} those whose reply partition this instance lost.
 */
public final class PendingRequests {

  /**
   * The furthest an event's sequence number may lie beyond the next expected one (numbers are
   * consecutive per generation; this bounds what a bad producer can make the gateway hold).
   */
  static final long MAX_SEQ_GAP = 4096;

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
      long seq = event.getSeq();
      Object content = contentOf(event);
      int passedOn = entry.passedOn.size();
      if (seq < passedOn) {
        if (seq >= 0 && content.equals(entry.passedOn.get((int) seq))) {
          return false; // redelivered, or generated again to the same answer
        }
        finish(
            entry,
            AnswerEvents.error(
                entry.requestId,
                stage,
                "answer_regenerated",
                "the answer was generated again after a failure of the llm stage and differs from"
                    + " the part already streamed (seq "
                    + seq
                    + "); retry the request (a seed makes sampled answers repeatable)",
                true));
        return true;
      }
      if (seq - passedOn > MAX_SEQ_GAP) {
        finish(
            entry,
            AnswerEvents.error(
                entry.requestId,
                stage,
                "answer_out_of_order",
                "answer event seq " + seq + " arrived after " + passedOn + " events",
                true));
        return true;
      }
      while (entry.passedOn.size() < seq) {
        entry.passedOn.add(MISSING);
      }
      entry.passedOn.add(content);
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

  /** Stands for a sequence number never received (never equal to any content). */
  private static final Object MISSING = new Object();

  /** What of an event must be the same when it is generated again (not its timestamps). */
  private static Object contentOf(AnswerEvent event) {
    return switch (event.getEventCase()) {
      case DELTA -> event.getDelta();
      case BOX -> event.getBox();
      case DONE -> "done:" + event.getDone().getFinishReason();
      default -> event.getEventCase();
    };
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

    /** The content of each event passed on to the sink, by sequence number. */
    final List<Object> passedOn = new ArrayList<>();

    boolean ended;

    Entry(String requestId, int replyPartition, long expiresAtMillis, AnswerSink sink) {
      this.requestId = requestId;
      this.replyPartition = replyPartition;
      this.expiresAtMillis = expiresAtMillis;
      this.sink = sink;
    }
  }
}

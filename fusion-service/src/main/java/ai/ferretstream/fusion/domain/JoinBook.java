package ai.ferretstream.fusion.domain;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The open joins of this instance, keyed by request id, with the rules of the join: wait for one
 * global and all local maps; ignore duplicates and anything for a request that already finished;
 * expire joins at their deadline; refuse new joins beyond a bound. Every record a join holds is
 * held in the {@link OffsetTracker} until the join finishes, so offsets are never committed past an
 * unfinished request.
 *
 * <p>Thread-safe: the listener threads offer records, a sweeper expires joins.
 */
public final class JoinBook {

  /** What became of an offered record. */
  public enum Status {
    /** Held; the join still waits for other pieces. */
    WAITING,
    /** The join has every piece: fuse it, then {@link #finish} it. */
    READY,
    /** The same piece arrived before; ignored. */
    DUPLICATE,
    /** The request finished earlier (fused, failed, expired or refused); ignored. */
    FINISHED,
    /** The request's deadline passed: tell the client, then {@link #finish} it. */
    EXPIRED,
    /** Too many open joins: tell the client to retry later, then {@link #finish} it. */
    REFUSED
  }

  /**
   * The outcome of {@link #offer}: the join when {@code READY}, the request context when {@code
   * EXPIRED} or {@code REFUSED}.
   */
  public record Offer(Status status, FeatureJoin join, RequestContext context) {}

  private final int maxOpen;
  private final long joinTimeoutMillis;
  private final OffsetTracker offsets;
  private final CompletedRequests finished;
  private final Map<String, FeatureJoin> open = new HashMap<>();

  /**
   * @param maxOpen open joins beyond which new requests are refused
   * @param joinTimeoutMillis how long a join without a request deadline may stay open
   * @param finishedCapacity how many finished request ids to remember
   * @param finishedTtlMillis how long to remember a finished request id
   */
  public JoinBook(
      int maxOpen,
      long joinTimeoutMillis,
      int finishedCapacity,
      long finishedTtlMillis,
      OffsetTracker offsets) {
    if (maxOpen <= 0 || joinTimeoutMillis <= 0) {
      throw new IllegalArgumentException("maxOpen and joinTimeout must be positive");
    }
    this.maxOpen = maxOpen;
    this.joinTimeoutMillis = joinTimeoutMillis;
    this.offsets = offsets;
    this.finished = new CompletedRequests(finishedCapacity, finishedTtlMillis);
  }

  /**
   * Offers record {@code offset} of {@code partition}.
   *
   * @throws ai.ferretstream.proto.failure.PermanentFailure {@code invalid_features} for a record
   *     that is malformed or disagrees with its request's earlier records
   */
  public synchronized Offer offer(
      TileFeatures features, SourcePartition partition, long offset, long nowMillis) {
    FeatureJoin.validate(features);
    String id = features.getContext().getRequestId();
    if (finished.contains(id, nowMillis)) {
      // keep naming it in the commits while its records lie past the committed offset, so that a
      // later owner of the partition ignores them too
      offsets.finished(partition, id, offset);
      return new Offer(Status.FINISHED, null, features.getContext());
    }
    FeatureJoin join = open.get(id);
    if (join != null && join.dispatched()) {
      return new Offer(Status.DUPLICATE, join, join.context());
    }
    if (AnswerEvents.expired(features.getContext(), nowMillis)
        || (join != null && nowMillis >= join.expiresAtMillis())) {
      return new Offer(Status.EXPIRED, join, features.getContext());
    }
    if (join == null) {
      if (open.size() >= maxOpen) {
        return new Offer(Status.REFUSED, null, features.getContext());
      }
      long deadline = features.getContext().getDeadlineUnixMs();
      join = new FeatureJoin(features, deadline > 0 ? deadline : nowMillis + joinTimeoutMillis);
      open.put(id, join);
    }
    boolean added = join.add(features, partition, offset);
    if (added) {
      offsets.hold(partition, offset);
    }
    if (join.ready()) {
      // handed out once: a late duplicate while the fused output is being published is ignored
      return join.dispatch()
          ? new Offer(Status.READY, join, join.context())
          : new Offer(Status.DUPLICATE, join, join.context());
    }
    return new Offer(added ? Status.WAITING : Status.DUPLICATE, join, join.context());
  }

  /**
   * Ends a request's join (fused, or given up on): releases its records and remembers the id so
   * late records are ignored. No-op for an unknown id, apart from remembering it.
   */
  public synchronized void finish(String requestId, long nowMillis) {
    FeatureJoin join = open.remove(requestId);
    if (join != null) {
      markFinished(join);
      release(join);
      notifyAll();
    }
    finished.add(requestId, nowMillis);
  }

  /** A dispatched join's fusion failed before anything was published: it may be fused again. */
  public synchronized void undispatch(String requestId) {
    FeatureJoin join = open.get(requestId);
    if (join != null) {
      join.undispatch();
      notifyAll();
    }
  }

  /**
   * Waits until no join fed by {@code partitions} is dispatched (its fused output on the way to the
   * broker), at most {@code timeoutMillis}: before revoked partitions are committed, so that their
   * next owner does not fuse those requests again.
   *
   * @return whether none is left
   */
  public synchronized boolean awaitDispatched(
      Collection<SourcePartition> partitions, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (dispatchedFrom(partitions)) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        return false;
      }
      wait(left);
    }
    return true;
  }

  private boolean dispatchedFrom(Collection<SourcePartition> partitions) {
    for (FeatureJoin join : open.values()) {
      if (join.dispatched()) {
        for (SourcePartition p : partitions) {
          if (join.fedBy(p)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * Remembers requests another instance finished (read from the committed offsets' metadata of
   * partitions this instance was just given), so their replayed records are ignored.
   */
  public synchronized void rememberFinished(Collection<String> requestIds, long nowMillis) {
    for (String id : requestIds) {
      finished.add(id, nowMillis);
    }
  }

  /** Removes and returns the joins whose deadline passed; they count as finished. */
  public synchronized List<FeatureJoin> expire(long nowMillis) {
    List<FeatureJoin> expired = new ArrayList<>();
    Iterator<FeatureJoin> it = open.values().iterator();
    while (it.hasNext()) {
      FeatureJoin join = it.next();
      // a dispatched join is being fused or published: its own outcome finishes it
      if (nowMillis >= join.expiresAtMillis() && !join.dispatched()) {
        it.remove();
        markFinished(join);
        release(join);
        finished.add(join.requestId(), nowMillis);
        expired.add(join);
      }
    }
    return expired;
  }

  /**
   * Forgets the joins fed by partitions this instance lost; they are not remembered as finished,
   * because the partitions' new owner replays their records from the committed offset.
   */
  public synchronized List<FeatureJoin> drop(Collection<SourcePartition> partitions) {
    List<FeatureJoin> dropped = new ArrayList<>();
    Iterator<FeatureJoin> it = open.values().iterator();
    while (it.hasNext()) {
      FeatureJoin join = it.next();
      for (SourcePartition p : partitions) {
        if (join.fedBy(p)) {
          it.remove();
          release(join);
          dropped.add(join);
          break;
        }
      }
    }
    return dropped;
  }

  public synchronized int openJoins() {
    return open.size();
  }

  /** Tells the offset tracker where the finished join's records end, per partition. */
  private void markFinished(FeatureJoin join) {
    for (FeatureJoin.Held h : join.held()) {
      offsets.finished(h.partition(), join.requestId(), h.offset());
    }
  }

  private void release(FeatureJoin join) {
    for (FeatureJoin.Held h : join.held()) {
      offsets.release(h.partition(), h.offset());
    }
  }
}

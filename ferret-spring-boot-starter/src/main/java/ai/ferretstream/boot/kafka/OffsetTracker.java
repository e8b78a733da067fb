package ai.ferretstream.boot.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which offsets of each partition may be committed when records are consumed in order but finished
 * out of order: the offsets of records that belong to unfinished requests are <em>held</em>, and
 * the committable offset of a partition is its lowest held offset, or the last seen offset + 1 when
 * nothing is held. A commit therefore never passes a record of an unfinished request; after a crash
 * or a rebalance the new owner replays from there and rebuilds every unfinished join.
 *
 * <p>Thread-safe.
 */
public final class OffsetTracker {

  private static final class State {
    final TreeSet<Long> held = new TreeSet<>();
    // finished requests -> their last offset: replayed records of these must be ignored
    final Map<String, Long> finished = new LinkedHashMap<>();
    // counts finish() calls; the commit's metadata carries every finish up to committedFinishes.
    // A count, not a flag: a request may finish (on a producer thread) while a commit is on its
    // way, after its metadata was taken; that commit must not count as carrying it
    long finishes;
    long committedFinishes;
    long next = -1;
    long committed = -1;
  }

  private final Map<SourcePartition, State> states = new HashMap<>();

  /** Record {@code offset} of {@code partition} was consumed. */
  public synchronized void seen(SourcePartition partition, long offset) {
    State s = state(partition);
    s.next = Math.max(s.next, offset + 1);
  }

  /** Record {@code offset} belongs to an unfinished request: do not commit past it. */
  public synchronized void hold(SourcePartition partition, long offset) {
    State s = state(partition);
    s.held.add(offset);
    s.next = Math.max(s.next, offset + 1);
  }

  /** The request that held {@code offset} finished (or was given up). */
  public synchronized void release(SourcePartition partition, long offset) {
    State s = states.get(partition);
    if (s != null) {
      s.held.remove(offset);
    }
  }

  /**
   * The offset to commit for {@code partition} now, or -1 when there is nothing new to commit: the
   * offset would not move forward and no request finished since the last commit (whose id the
   * commit's metadata must then carry).
   */
  public synchronized long committable(SourcePartition partition) {
    State s = states.get(partition);
    if (s == null || s.next < 0) {
      return -1;
    }
    long offset = s.held.isEmpty() ? s.next : s.held.first();
    if (offset > s.committed || (s.finishes != s.committedFinishes && offset == s.committed)) {
      return offset;
    }
    return -1;
  }

  /**
   * What to commit for a partition: the offset and the finished requests the commit's metadata must
   * name, taken together; {@code finishes} marks how many finishes the metadata carries.
   */
  public record Pending(long offset, List<String> finished, long finishes) {}

  /**
   * The commits due now for the given partitions (those whose offset moves forward, or whose
   * metadata must name a request that finished since), each with its finished requests. Pass each
   * one that the broker accepted to {@link #committed(SourcePartition, Pending)}.
   */
  public synchronized Map<SourcePartition, Pending> pending(
      Collection<SourcePartition> partitions) {
    Map<SourcePartition, Pending> out = new LinkedHashMap<>();
    for (SourcePartition p : partitions) {
      long offset = committable(p);
      if (offset >= 0) {
        out.put(p, new Pending(offset, finishedFrom(p, offset), states.get(p).finishes));
      }
    }
    return out;
  }

  /**
   * A request whose records in {@code partition} end at {@code lastOffset} finished. Until the
   * committed offset passes {@code lastOffset}, a new owner of the partition would replay some of
   * its records: {@link #finishedFrom} names it so the commit can carry it along.
   */
  public synchronized void finished(SourcePartition partition, String requestId, long lastOffset) {
    State s = state(partition);
    s.finished.merge(requestId, lastOffset, Math::max);
    s.finishes++;
  }

  /**
   * The finished requests with records at or after {@code offset} in {@code partition}, oldest
   * first; forgets those entirely before it.
   */
  public synchronized List<String> finishedFrom(SourcePartition partition, long offset) {
    State s = states.get(partition);
    if (s == null) {
      return List.of();
    }
    s.finished.values().removeIf(last -> last < offset);
    return List.copyOf(s.finished.keySet());
  }

  /**
   * A commit taken by {@link #pending} was accepted: requests that finished after it was taken are
   * not yet in any commit's metadata, so the partition stays due for another commit.
   */
  public synchronized void committed(SourcePartition partition, Pending commit) {
    State s = states.get(partition);
    if (s == null) {
      return; // forgotten meanwhile
    }
    s.committed = Math.max(s.committed, commit.offset());
    s.committedFinishes = Math.max(s.committedFinishes, commit.finishes());
  }

  /** Forgets a partition this consumer no longer owns. */
  public synchronized void forget(SourcePartition partition) {
    states.remove(partition);
  }

  /**
   * Waits until no offset of {@code partitions} is held, at most {@code timeout}: for work in
   * flight to finish before revoked partitions are committed. Polls; not for hot paths.
   *
   * @return whether none is held any more
   */
  public boolean awaitReleased(Collection<SourcePartition> partitions, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (partitions.stream().anyMatch(p -> held(p) > 0)) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  /** Number of held offsets of {@code partition}. */
  public synchronized int held(SourcePartition partition) {
    State s = states.get(partition);
    return s == null ? 0 : s.held.size();
  }

  private State state(SourcePartition partition) {
    return states.computeIfAbsent(partition, p -> new State());
  }
}

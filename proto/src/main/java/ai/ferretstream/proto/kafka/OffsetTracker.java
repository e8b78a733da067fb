package ai.ferretstream.proto.kafka;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
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

  /** The offset to commit for {@code partition} now, or -1 when it would not move forward. */
  public synchronized long committable(SourcePartition partition) {
    State s = states.get(partition);
    if (s == null || s.next < 0) {
      return -1;
    }
    long offset = s.held.isEmpty() ? s.next : s.held.first();
    return offset > s.committed ? offset : -1;
  }

  /** The offsets to commit now for the given partitions (only those that move forward). */
  public synchronized Map<SourcePartition, Long> committable(
      Collection<SourcePartition> partitions) {
    Map<SourcePartition, Long> out = new LinkedHashMap<>();
    for (SourcePartition p : partitions) {
      long offset = committable(p);
      if (offset >= 0) {
        out.put(p, offset);
      }
    }
    return out;
  }

  /** {@code offset} of {@code partition} was committed. */
  public synchronized void committed(SourcePartition partition, long offset) {
    State s = state(partition);
    s.committed = Math.max(s.committed, offset);
  }

  /** Forgets a partition this consumer no longer owns. */
  public synchronized void forget(SourcePartition partition) {
    states.remove(partition);
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

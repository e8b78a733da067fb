package ai.ferretstream.llm.domain;

import java.util.function.LongSupplier;

/**
 * Groups streamed pieces into text deltas: a delta when {@code every} pieces are pending, or — with
 * a positive {@code maxDelayMillis} — when a piece arrives and the oldest pending piece has waited
 * that long, whichever comes first. The caller flushes early when a box completes and at the end.
 */
final class DeltaCoalescer {

  private final int every;
  private final long maxDelayMillis;
  private final LongSupplier clock;
  private final StringBuilder pending = new StringBuilder();
  private int pendingPieces;
  private long firstPendingAt;

  DeltaCoalescer(int every) {
    this(every, 0, () -> 0L);
  }

  /**
   * @param every pieces per delta
   * @param maxDelayMillis longest a piece waits for its delta (0: no time limit)
   * @param clock milliseconds
   */
  DeltaCoalescer(int every, long maxDelayMillis, LongSupplier clock) {
    if (every <= 0) {
      throw new IllegalArgumentException("coalesce at least one piece per delta");
    }
    if (maxDelayMillis < 0) {
      throw new IllegalArgumentException("the coalescing delay must not be negative");
    }
    this.every = every;
    this.maxDelayMillis = maxDelayMillis;
    this.clock = clock;
  }

  /** Adds a piece; returns the text to emit now, else null. */
  String add(String piece) {
    long now = clock.getAsLong();
    if (pendingPieces == 0) {
      firstPendingAt = now;
    }
    pending.append(piece);
    pendingPieces++;
    boolean full = pendingPieces >= every;
    boolean late = maxDelayMillis > 0 && now - firstPendingAt >= maxDelayMillis;
    return full || late ? flush() : null;
  }

  /** The pending text (maybe empty), now emitted. */
  String flush() {
    String out = pending.toString();
    pending.setLength(0);
    pendingPieces = 0;
    return out;
  }
}

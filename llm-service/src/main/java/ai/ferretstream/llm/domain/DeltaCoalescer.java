package ai.ferretstream.llm.domain;

/**
 * Groups streamed pieces into text deltas: one delta every {@code every} pieces; the caller flushes
 * early when a box completes and at the end.
 */
final class DeltaCoalescer {

  private final int every;
  private final StringBuilder pending = new StringBuilder();
  private int pendingPieces;

  DeltaCoalescer(int every) {
    if (every <= 0) {
      throw new IllegalArgumentException("coalesce at least one piece per delta");
    }
    this.every = every;
  }

  /** Adds a piece; returns the text to emit when {@code every} pieces are pending, else null. */
  String add(String piece) {
    pending.append(piece);
    pendingPieces++;
    return pendingPieces >= every ? flush() : null;
  }

  /** The pending text (maybe empty), now emitted. */
  String flush() {
    String out = pending.toString();
    pending.setLength(0);
    pendingPieces = 0;
    return out;
  }
}

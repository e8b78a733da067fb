package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.region.Normalized999;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.Error;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.TextDelta;
import ai.ferretstream.proto.v1.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * One request's answer events, numbered 0, 1, 2, ...: coalesced text deltas, a box event right
 * after the delta that completes each box, and finally {@code done} or {@code error}.
 */
public final class AnswerStream {

  private final String requestId;
  private final int imageWidth;
  private final int imageHeight;
  private final LongSupplier clock;
  private final DeltaCoalescer coalescer;
  private final BoxParser boxes = new BoxParser();
  private long seq;
  private int pieces;

  /**
   * @param imageWidth width of the original image, for box pixels
   * @param imageHeight height of the original image
   * @param coalesceTokens pieces per text delta
   * @param clock unix milliseconds, for {@code created_unix_ms}
   */
  public AnswerStream(
      String requestId, int imageWidth, int imageHeight, int coalesceTokens, LongSupplier clock) {
    this(requestId, imageWidth, imageHeight, coalesceTokens, 0, clock);
  }

  /**
   * @param coalesceMillis longest a piece waits for its text delta, 0 = pieces only
   */
  public AnswerStream(
      String requestId,
      int imageWidth,
      int imageHeight,
      int coalesceTokens,
      long coalesceMillis,
      LongSupplier clock) {
    this.requestId = requestId;
    this.imageWidth = imageWidth;
    this.imageHeight = imageHeight;
    this.clock = clock;
    this.coalescer = new DeltaCoalescer(coalesceTokens, coalesceMillis, clock);
  }

  /** Takes one generated piece; returns the events to publish now, in order. */
  public List<AnswerEvent> onPiece(String piece) {
    pieces++;
    String ready = coalescer.add(piece);
    List<BoxParser.Found> found = boxes.append(piece);
    if (found.isEmpty()) {
      return ready == null || ready.isEmpty() ? List.of() : List.of(delta(ready));
    }
    List<AnswerEvent> out = new ArrayList<>(1 + found.size());
    String text = (ready == null ? "" : ready) + coalescer.flush();
    if (!text.isEmpty()) {
      out.add(delta(text));
    }
    for (BoxParser.Found box : found) {
      out.add(box(box));
    }
    return out;
  }

  /** The pending text as a last delta, if any. */
  public List<AnswerEvent> flush() {
    String text = coalescer.flush();
    return text.isEmpty() ? List.of() : List.of(delta(text));
  }

  /** The final event of a finished generation. */
  public AnswerEvent done(
      String finishReason, Usage usage, Map<String, Long> timings, String model) {
    return next()
        .setDone(
            Done.newBuilder()
                .setFinishReason(finishReason)
                .setUsage(usage)
                .putAllTimings(timings)
                .setModel(model))
        .build();
  }

  /** An error event that ends the stream after what was already published. */
  public AnswerEvent error(String stage, String code, String message, boolean retryable) {
    return next()
        .setError(
            Error.newBuilder()
                .setStage(stage)
                .setCode(code)
                .setMessage(message)
                .setRetryable(retryable))
        .build();
  }

  /** Whether any event was produced. */
  public boolean emitted() {
    return seq > 0;
  }

  /** Pieces taken so far. */
  public int pieces() {
    return pieces;
  }

  /** The answer text so far. */
  public String text() {
    return boxes.text();
  }

  private AnswerEvent delta(String text) {
    return next().setDelta(TextDelta.newBuilder().setText(text)).build();
  }

  private AnswerEvent box(BoxParser.Found found) {
    return next()
        .setBox(
            GroundedBox.newBuilder()
                .setPhrase(found.phrase())
                .setBox999(
                    Box.newBuilder()
                        .setX1((int) found.x1())
                        .setY1((int) found.y1())
                        .setX2((int) found.x2())
                        .setY2((int) found.y2()))
                .setBoxPixels(
                    Box.newBuilder()
                        .setX1(Normalized999.toPixel(found.x1(), imageWidth))
                        .setY1(Normalized999.toPixel(found.y1(), imageHeight))
                        .setX2(Normalized999.toPixel(found.x2(), imageWidth))
                        .setY2(Normalized999.toPixel(found.y2(), imageHeight)))
                .setCharOffset(found.end()))
        .build();
  }

  private AnswerEvent.Builder next() {
    return AnswerEvent.newBuilder()
        .setRequestId(requestId)
        .setSeq(seq++)
        .setCreatedUnixMs(clock.getAsLong());
  }
}

package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.region.Normalized999;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.Error;
import ai.ferretstream.proto.v1.GridLayout;
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
 *
 * <p>A box event gives the box on the original image's 0..999 grid and in its pixels ({@code x_px =
 * int(q * W / 1000)}). The model writes its boxes on the canvas it saw: with a padded layout they
 * are mapped from the canvas onto the image first ({@link CanvasFrame}); the text keeps them as
 * written.
 */
public final class AnswerStream {

  private final String requestId;
  private final int imageWidth;
  private final int imageHeight;
  private final CanvasFrame frame;
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
   * An answer about an image that filled the model's canvas (stretch): boxes are taken as written.
   * A padded layout needs {@link #AnswerStream(String, GridLayout, int, long, LongSupplier)}.
   *
   * @param coalesceMillis longest a piece waits for its text delta, 0 = pieces only
   */
  public AnswerStream(
      String requestId,
      int imageWidth,
      int imageHeight,
      int coalesceTokens,
      long coalesceMillis,
      LongSupplier clock) {
    this(
        requestId,
        imageWidth,
        imageHeight,
        CanvasFrame.STRETCH,
        coalesceTokens,
        coalesceMillis,
        clock);
  }

  /**
   * @param layout the layout the request was tiled on: the original image's size, for box pixels,
   *     and where the image lies on the canvas the model saw (pad), for mapping its boxes back
   * @param coalesceTokens pieces per text delta
   * @param coalesceMillis longest a piece waits for its text delta, 0 = pieces only
   * @param clock unix milliseconds, for {@code created_unix_ms}
   */
  public AnswerStream(
      String requestId,
      GridLayout layout,
      int coalesceTokens,
      long coalesceMillis,
      LongSupplier clock) {
    this(
        requestId,
        layout.getImageWidth(),
        layout.getImageHeight(),
        CanvasFrame.of(layout),
        coalesceTokens,
        coalesceMillis,
        clock);
  }

  private AnswerStream(
      String requestId,
      int imageWidth,
      int imageHeight,
      CanvasFrame frame,
      int coalesceTokens,
      long coalesceMillis,
      LongSupplier clock) {
    this.requestId = requestId;
    this.imageWidth = imageWidth;
    this.imageHeight = imageHeight;
    this.frame = frame;
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
    int x1 = frame.imageX(found.x1());
    int y1 = frame.imageY(found.y1());
    int x2 = frame.imageX(found.x2());
    int y2 = frame.imageY(found.y2());
    return next()
        .setBox(
            GroundedBox.newBuilder()
                .setPhrase(found.phrase())
                .setBox999(Box.newBuilder().setX1(x1).setY1(y1).setX2(x2).setY2(y2))
                .setBoxPixels(
                    Box.newBuilder()
                        .setX1(Normalized999.toPixel(x1, imageWidth))
                        .setY1(Normalized999.toPixel(y1, imageHeight))
                        .setX2(Normalized999.toPixel(x2, imageWidth))
                        .setY2(Normalized999.toPixel(y2, imageHeight)))
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

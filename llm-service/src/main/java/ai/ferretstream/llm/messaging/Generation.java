package ai.ferretstream.llm.messaging;

import ai.ferretstream.llm.inference.TokenSink;
import ai.ferretstream.llm.inference.TritonLlmClient;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One running generation as the listener thread sees it: the gRPC stream's callbacks and a cancel
 * become events in a queue, which the listener thread drains in order (so it alone numbers and
 * publishes the answer events).
 */
final class Generation implements TokenSink {

  /** What happened on the stream. */
  sealed interface Event permits Piece, Final, ModelError, Failed, Cancelled {}

  record Piece(String text) implements Event {}

  record Final() implements Event {}

  record ModelError(String message) implements Event {}

  record Failed(RuntimeException failure, FailureKind kind) implements Event {}

  record Cancelled(String reason) implements Event {}

  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private TritonLlmClient.Call call;
  private String cancelReason;

  /** Attaches the running call; cancels it at once if a cancel came first. */
  synchronized void attach(TritonLlmClient.Call call) {
    this.call = call;
    if (cancelReason != null) {
      call.cancel(cancelReason);
    }
  }

  /** Cancels the generation: the listener sees {@link Cancelled} before anything that follows. */
  synchronized void cancel(String reason) {
    if (cancelReason != null) {
      return;
    }
    cancelReason = reason;
    events.add(new Cancelled(reason));
    if (call != null) {
      call.cancel(reason);
    }
  }

  synchronized boolean cancelled() {
    return cancelReason != null;
  }

  /** Stops the call if it still runs (the listener gave up on it). */
  synchronized void stop(String reason) {
    if (call != null) {
      call.cancel(reason);
    }
  }

  /** The next event, or null when none came within {@code timeoutMillis}. */
  Event next(long timeoutMillis) throws InterruptedException {
    return events.poll(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void onPiece(String text) {
    events.add(new Piece(text));
  }

  @Override
  public void onFinal() {
    events.add(new Final());
  }

  @Override
  public void onModelError(String message) {
    events.add(new ModelError(message));
  }

  @Override
  public void onFailure(RuntimeException failure, FailureKind kind) {
    events.add(new Failed(failure, kind));
  }
}

package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.v1.AnswerEvent;

/**
 * The client side of one pending request: receives its answer events in order. {@link
 * PendingRequests} calls it under the request's lock, at most once with {@link #end}, and never
 * again after that; implementations must not block (hand slow I/O to another thread).
 */
public interface AnswerSink {

  /** A text delta or a box. */
  void event(AnswerEvent event);

  /** The last event: a {@code done} or an {@code error}. */
  void end(AnswerEvent event);
}

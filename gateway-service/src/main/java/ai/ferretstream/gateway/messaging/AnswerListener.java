package ai.ferretstream.gateway.messaging;

import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.proto.v1.AnswerEvent;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.MessageListener;

/**
 * Hands each {@code ferret.answers} record to its pending request. Records of requests this
 * instance does not wait on (finished, expired, or another client's) are skipped.
 */
public final class AnswerListener implements MessageListener<String, AnswerEvent> {

  private static final Logger log = LoggerFactory.getLogger(AnswerListener.class);

  private final PendingRequests pending;

  public AnswerListener(PendingRequests pending) {
    this.pending = pending;
  }

  @Override
  public void onMessage(ConsumerRecord<String, AnswerEvent> record) {
    AnswerEvent event = record.value();
    if (event == null) {
      return; // a tombstone; undecodable values never get here (ErrorHandlingDeserializer)
    }
    try {
      if (!pending.dispatch(event) && log.isTraceEnabled()) {
        log.trace("skipped answer event {}#{}", event.getRequestId(), event.getSeq());
      }
    } catch (RuntimeException e) {
      // a broken client connection must not stop the answers of everybody else
      log.warn("could not deliver an answer event of request {}", event.getRequestId(), e);
      pending.fail(
          event.getRequestId(), "internal_error", "the gateway could not deliver the answer", true);
    }
  }
}

package ai.ferretstream.gateway.messaging;

import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.proto.v1.AnswerEvent;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.annotation.KafkaListener;

/**
 * Hands each {@code ferret.answers} record to its pending request. Records of requests this
 * instance does not wait on (finished, expired, or another client's) are skipped.
 */
public final class AnswerListener {

  /** Listener (container) id. */
  public static final String ID = "gateway-answers";

  /** The {@code containerPostProcessor} of the answers container (see the gateway's config). */
  public static final String CONTAINER_SETUP = "answersContainerSetup";

  private static final Logger log = LoggerFactory.getLogger(AnswerListener.class);

  private final PendingRequests pending;

  public AnswerListener(PendingRequests pending) {
    this.pending = pending;
  }

  @KafkaListener(
      id = ID,
      idIsGroup = false,
      groupId = "${ferret.gateway.answers.group-id:ferret-gateway}",
      clientIdPrefix = "${spring.application.name}-answers",
      topics = "#{@topicCatalog.answers()}",
      // new requests only; move just the partitions a rebalance must move: each move fails the
      // requests waiting on it
      properties = {
        "auto.offset.reset=latest",
        "partition.assignment.strategy="
            + "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
      },
      containerPostProcessor = CONTAINER_SETUP)
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

package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.kafka.ControlTopicListener;
import ai.ferretstream.proto.v1.Cancel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Consumes {@code ferret.control} in a consumer group of this instance's own, from the latest
 * offset, and cancels the named request's generation here, if it runs here (or when it starts).
 */
@Component
class CancelListener {

  static final String ID = "llm-control";

  private static final Logger log = LoggerFactory.getLogger(CancelListener.class);

  private final ActiveGenerations active;

  CancelListener(ActiveGenerations active) {
    this.active = active;
  }

  @ControlTopicListener(id = ID)
  void onCancel(Cancel cancel) {
    if (cancel.getRequestId().isEmpty()) {
      log.warn("ignoring a cancel without a request id");
      return;
    }
    String reason = cancel.getReason().isEmpty() ? "cancelled by the client" : cancel.getReason();
    active.cancel(cancel.getRequestId(), reason);
  }
}

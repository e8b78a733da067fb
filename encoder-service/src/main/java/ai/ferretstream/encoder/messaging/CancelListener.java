package ai.ferretstream.encoder.messaging;

import ai.ferretstream.boot.kafka.ControlTopicListener;
import ai.ferretstream.boot.kafka.RecentIds;
import ai.ferretstream.proto.v1.Cancel;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code ferret.control} (a consumer group of this instance's own, from the latest offset):
 * remembers each cancelled request and drops its tiles still waiting for a batch.
 */
public final class CancelListener {

  /** Listener (container) id. */
  public static final String ID = "encoder-control";

  private static final Logger log = LoggerFactory.getLogger(CancelListener.class);

  private final RecentIds cancelled;
  private final EncodingPipeline pipeline;

  public CancelListener(RecentIds cancelled, EncodingPipeline pipeline) {
    this.cancelled = cancelled;
    this.pipeline = pipeline;
  }

  @ControlTopicListener(id = ID)
  public void onMessage(ConsumerRecord<String, Cancel> record) {
    Cancel cancel = record.value();
    if (cancel == null || cancel.getRequestId().isEmpty()) {
      log.warn("ignoring a cancel without a request id");
      return;
    }
    cancelled.add(cancel.getRequestId());
    int dropped = pipeline.cancel(cancel.getRequestId());
    if (dropped > 0) {
      log.debug("request {} cancelled: {} queued tiles dropped", cancel.getRequestId(), dropped);
    }
  }
}

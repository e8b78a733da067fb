package ai.ferretstream.proto.kafka;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Error;
import ai.ferretstream.proto.v1.RequestContext;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Builds answer-topic records that reach the right gateway instance: keyed by request id and, when
 * the request names a reply partition, sent to that partition (see docs/adr/0002).
 */
public final class AnswerEvents {

  /** Sequence number used for error events raised before the llm stage (they end the stream). */
  public static final long STAGE_ERROR_SEQ = -1;

  private AnswerEvents() {}

  /**
   * The partition to send answers of this request to, or {@code null} to partition by key (also for
   * a negative partition other than {@link ReplyTargets#BY_KEY}). Whether the answers topic has the
   * partition is checked where requests enter ({@link ReplyTargets}).
   */
  public static Integer replyPartition(RequestContext context) {
    if (context.hasReplyTo() && context.getReplyTo().getPartition() >= 0) {
      return context.getReplyTo().getPartition();
    }
    return null;
  }

  /**
   * The answers topic for this request: always the catalog's. {@code reply_to.topic} is client
   * input; a request naming another topic is refused where it enters ({@link ReplyTargets}), and
   * even a context that got past that never sends answers elsewhere.
   */
  public static String replyTopic(RequestContext context, TopicCatalog catalog) {
    return catalog.answers();
  }

  public static ProducerRecord<String, AnswerEvent> record(
      RequestContext context, TopicCatalog catalog, AnswerEvent event) {
    ProducerRecord<String, AnswerEvent> record =
        new ProducerRecord<>(
            replyTopic(context, catalog), replyPartition(context), context.getRequestId(), event);
    FerretHeaders.put(record.headers(), FerretHeaders.REQUEST_ID, context.getRequestId());
    FerretHeaders.put(record.headers(), FerretHeaders.VALUE_TYPE, "ferret.v1.AnswerEvent");
    Integer partition = replyPartition(context);
    if (partition != null) {
      FerretHeaders.put(record.headers(), FerretHeaders.REPLY_PARTITION, partition.toString());
    }
    return record;
  }

  /** An error event that ends the request's answer stream. */
  public static AnswerEvent error(
      String requestId, String stage, String code, String message, boolean retryable) {
    return AnswerEvent.newBuilder()
        .setRequestId(requestId)
        .setSeq(STAGE_ERROR_SEQ)
        .setCreatedUnixMs(System.currentTimeMillis())
        .setError(
            Error.newBuilder()
                .setCode(code)
                .setMessage(message)
                .setStage(stage)
                .setRetryable(retryable))
        .build();
  }

  /** Whether the request's deadline has passed at {@code nowMillis}. */
  public static boolean expired(RequestContext context, long nowMillis) {
    return context.getDeadlineUnixMs() > 0 && nowMillis >= context.getDeadlineUnixMs();
  }
}

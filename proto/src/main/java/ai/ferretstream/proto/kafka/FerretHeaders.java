package ai.ferretstream.proto.kafka;

import ai.ferretstream.proto.v1.RequestContext;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Kafka header vocabulary. Header values are UTF-8 strings. Spring Kafka's own dead-letter headers
 * ({@code kafka_dlt-*}) are added by the error handler; ours name the failing service and the
 * classification.
 */
public final class FerretHeaders {

  /** The request id (also the record key). */
  public static final String REQUEST_ID = "ferret-request-id";

  /** Absolute deadline of the request, unix milliseconds. */
  public static final String DEADLINE = "ferret-deadline-ms";

  /** Protobuf message type of the value, e.g. {@code ferret.v1.Tile}. */
  public static final String VALUE_TYPE = "ferret-value-type";

  /** The ferret.answers partition the request's answer events go to (decimal). */
  public static final String REPLY_PARTITION = "ferret-reply-partition";

  /** The service that produced the record. */
  public static final String PRODUCER = "ferret-producer";

  /** On dead-letter records: the service whose processing failed. */
  public static final String ERROR_SERVICE = "ferret-error-service";

  /** On dead-letter records: {@code retryable} or {@code permanent}. */
  public static final String ERROR_CLASS = "ferret-error-class";

  /** On dead-letter records: a short reason. */
  public static final String ERROR_REASON = "ferret-error-reason";

  private FerretHeaders() {}

  public static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The headers every pipeline record carries, from its request's context: request id, value type,
   * producer, the deadline (when set) and the reply partition (when set). The reply partition lets
   * a stage that cannot even decode the record still route its error event to the gateway waiting
   * for it.
   */
  public static void stamp(
      Headers headers, RequestContext context, String valueType, String producer) {
    put(headers, REQUEST_ID, context.getRequestId());
    put(headers, VALUE_TYPE, valueType);
    put(headers, PRODUCER, producer);
    if (context.getDeadlineUnixMs() > 0) {
      put(headers, DEADLINE, Long.toString(context.getDeadlineUnixMs()));
    }
    Integer replyPartition = AnswerEvents.replyPartition(context);
    if (replyPartition != null) {
      put(headers, REPLY_PARTITION, replyPartition.toString());
    }
  }

  /** The last value of a header, or {@code null}. */
  public static String get(Headers headers, String name) {
    Header header = headers.lastHeader(name);
    return header == null || header.value() == null
        ? null
        : new String(header.value(), StandardCharsets.UTF_8);
  }
}

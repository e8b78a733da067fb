package ai.ferretstream.examples.kafka;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.MessageFormatter;
import org.apache.kafka.common.header.Header;

/**
 * Prints Ferret records as JSON lines (protobuf's JSON mapping), one per record, for Kafka's own
 * console consumer: {@code kafka-console-consumer.sh --topic ferret.answers --formatter
 * ai.ferretstream.examples.kafka.ProtobufJsonFormatter} with this jar, the proto jar and
 * protobuf-java(-util) on {@code CLASSPATH}. The value type comes from the topic (any catalog topic
 * or its dead-letter topic); a dead-letter record comes with the {@code ferret-error-*} headers
 * that say why it is there. An {@code AskRequest}'s image is left out ({@code "image":""}, its size
 * in {@code imageBytes}). The formatter property {@code prefix} names a topic prefix.
 */
public final class ProtobufJsonFormatter implements MessageFormatter {

  /** Fields at their default value too: a {@code seq} of 0 is printed, not left out. */
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().omittingInsignificantWhitespace().alwaysPrintFieldsWithNoPresence();

  private TopicCatalog topics = TopicCatalog.defaults();

  @Override
  public void configure(Map<String, ?> configs) {
    Object prefix = configs.get("prefix");
    if (prefix != null) {
      topics = new TopicCatalog(prefix.toString());
    }
  }

  @Override
  public void writeTo(ConsumerRecord<byte[], byte[]> record, PrintStream output) {
    output.println(line(record));
  }

  /** The JSON line of one record. */
  String line(ConsumerRecord<byte[], byte[]> record) {
    String json = record.value() == null ? "null" : value(record.topic(), record.value());
    String service = header(record, FerretHeaders.ERROR_SERVICE);
    if (service == null) {
      return json;
    }
    return "{\"ferretErrorService\":"
        + quote(service)
        + ",\"ferretErrorReason\":"
        + quote(String.valueOf(header(record, FerretHeaders.ERROR_REASON)))
        + ",\"record\":"
        + json
        + "}";
  }

  private String value(String topic, byte[] value) {
    Optional<Topic> entry = topics.lookup(topic);
    if (entry.isEmpty()) {
      return "{\"undecoded\":\"" + topic + " is not a Ferret topic\"}";
    }
    try {
      Message message =
          (Message)
              ((com.google.protobuf.Parser<?>)
                      entry.get().valueType().getMethod("parser").invoke(null))
                  .parseFrom(value);
      if (message instanceof AskRequest request) {
        String json = json(request.toBuilder().clearImage());
        return json.substring(0, json.length() - 1)
            + ",\"imageBytes\":"
            + request.getImage().size()
            + "}";
      }
      return json(message);
    } catch (InvalidProtocolBufferException e) {
      return "{\"undecodable\":" + quote(e.getMessage()) + "}";
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("no parser for " + entry.get().valueType(), e);
    }
  }

  /** A message as one line of JSON (protobuf's JSON mapping: lowerCamelCase field names). */
  public static String json(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("cannot print a " + message.getClass(), e);
    }
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  /** {@code text} as a JSON string. */
  private static String quote(String text) {
    return json(Value.newBuilder().setStringValue(text));
  }
}

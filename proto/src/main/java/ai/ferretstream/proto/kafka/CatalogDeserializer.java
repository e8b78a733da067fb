package ai.ferretstream.proto.kafka;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads the value of any pipeline topic as the protobuf type the {@link Topic} catalog gives it,
 * whatever the topic prefix: {@code prod.ferret.features} holds {@code TileFeatures}. One consumer
 * configuration thus serves every listener of a service; the type follows the topic the record came
 * from. Wrap it in Spring Kafka's {@code ErrorHandlingDeserializer} so that an undecodable record
 * is dead-lettered instead of blocking its partition.
 */
public final class CatalogDeserializer implements Deserializer<MessageLite> {

  private final Map<String, Parser<MessageLite>> parsers = new ConcurrentHashMap<>();

  @Override
  public MessageLite deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    Parser<MessageLite> parser = parsers.computeIfAbsent(topic, CatalogDeserializer::parserFor);
    return ProtobufDeserializer.parse(parser, topic, data);
  }

  /** Parses in place, without Kafka's copy into a new array (see {@link ProtobufDeserializer}). */
  @Override
  public MessageLite deserialize(String topic, Headers headers, ByteBuffer data) {
    if (data == null) {
      return null;
    }
    Parser<MessageLite> parser = parsers.computeIfAbsent(topic, CatalogDeserializer::parserFor);
    return ProtobufDeserializer.parse(parser, topic, UnsafeByteOperations.unsafeWrap(data.slice()));
  }

  /** The parser of the catalog topic {@code topic} names (its dead-letter topic too). */
  static Parser<MessageLite> parserFor(String topic) {
    String base =
        topic.endsWith(Topic.DLT_SUFFIX)
            ? topic.substring(0, topic.length() - Topic.DLT_SUFFIX.length())
            : topic;
    Topic entry =
        Arrays.stream(Topic.values())
            .filter(t -> base.endsWith(t.baseName()))
            .findFirst()
            .orElseThrow(
                () ->
                    new SerializationException(
                        "topic " + topic + " is not a Ferret Stream pipeline topic"));
    return ProtobufDeserializer.parserOf(entry);
  }
}

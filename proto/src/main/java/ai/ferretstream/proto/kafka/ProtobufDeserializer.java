package ai.ferretstream.proto.kafka;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads a protobuf message of one type. Wrap it in Spring Kafka's {@code ErrorHandlingDeserializer}
 * so an undecodable record goes to the dead-letter topic instead of blocking its partition. The
 * type comes from the constructor or from the consumer property {@value #VALUE_TYPE_CONFIG} (a
 * {@link Topic} name such as {@code FEATURES}).
 */
public class ProtobufDeserializer<T extends MessageLite> implements Deserializer<T> {

  /** Consumer property naming the {@link Topic} whose value type to read. */
  public static final String VALUE_TYPE_CONFIG = "ferret.value.topic";

  private Parser<T> parser;

  /** For configuration by class name; the type comes from {@value #VALUE_TYPE_CONFIG}. */
  public ProtobufDeserializer() {}

  public ProtobufDeserializer(Parser<T> parser) {
    this.parser = parser;
  }

  /** A deserializer for the value type of a catalog topic. */
  public static ProtobufDeserializer<MessageLite> forTopic(Topic topic) {
    return new ProtobufDeserializer<>(parserOf(topic));
  }

  @Override
  @SuppressWarnings("unchecked")
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (parser != null) {
      return;
    }
    Object name = configs.get(VALUE_TYPE_CONFIG);
    if (name == null) {
      throw new IllegalStateException(
          "ProtobufDeserializer needs the consumer property " + VALUE_TYPE_CONFIG);
    }
    parser = (Parser<T>) parserOf(Topic.valueOf(name.toString()));
  }

  @SuppressWarnings("unchecked")
  static Parser<MessageLite> parserOf(Topic topic) {
    try {
      return (Parser<MessageLite>) topic.valueType().getMethod("parser").invoke(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("no protobuf parser for " + topic.valueType(), e);
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (parser == null) {
      throw new IllegalStateException("ProtobufDeserializer used before configure()");
    }
    return parse(parser, topic, data);
  }

  /**
   * Parses {@code data} with aliasing: the message's {@code bytes} fields (tiles, feature maps) are
   * views of {@code data}, not copies. Safe because the consumer hands each record its own array,
   * which nothing writes to afterwards.
   */
  static <M extends MessageLite> M parse(Parser<M> parser, String topic, byte[] data) {
    return parse(parser, topic, UnsafeByteOperations.unsafeWrap(data));
  }

  /**
   * Parses the record's bytes where the consumer received them (a view into its fetch response),
   * without the copy into a new array that Kafka's default makes: {@code bytes} fields alias that
   * buffer, which Kafka allocates per response and never reuses.
   */
  @Override
  public T deserialize(String topic, Headers headers, ByteBuffer data) {
    if (data == null) {
      return null;
    }
    if (parser == null) {
      throw new IllegalStateException("ProtobufDeserializer used before configure()");
    }
    return parse(parser, topic, UnsafeByteOperations.unsafeWrap(data.slice()));
  }

  /** Parses an immutable view with aliasing (only an immutable input lets protobuf alias). */
  static <M extends MessageLite> M parse(Parser<M> parser, String topic, ByteString data) {
    try {
      CodedInputStream in = data.newCodedInput();
      in.enableAliasing(true);
      return parser.parseFrom(in);
    } catch (InvalidProtocolBufferException e) {
      throw new SerializationException(
          "record on " + topic + " is not a valid protobuf message: " + e.getMessage(), e);
    }
  }
}

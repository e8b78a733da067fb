package ai.ferretstream.proto.kafka;

import com.google.protobuf.MessageLite;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes any protobuf message as its binary encoding. Raw {@code byte[]} values pass through
 * unchanged, so the same producer can forward undecodable records to a dead-letter topic.
 */
public final class ProtobufSerializer implements Serializer<Object> {

  @Override
  public byte[] serialize(String topic, Object data) {
    if (data == null) {
      return null;
    }
    if (data instanceof MessageLite message) {
      return message.toByteArray();
    }
    if (data instanceof byte[] raw) {
      return raw;
    }
    throw new SerializationException(
        "cannot write a "
            + data.getClass().getName()
            + " to "
            + topic
            + ": not a protobuf message");
  }
}

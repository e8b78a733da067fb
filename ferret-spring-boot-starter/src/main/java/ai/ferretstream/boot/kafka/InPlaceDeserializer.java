package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.kafka.CatalogDeserializer;
import java.nio.ByteBuffer;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.utils.Utils;
import org.springframework.kafka.support.serializer.ErrorHandlingDeserializer;

/**
 * The listeners' value deserializer: {@link CatalogDeserializer} parsing each record where the
 * consumer received it (no copy of the multi-MB value into a new array, its {@code bytes} fields
 * aliasing the fetch response), inside Spring's {@link ErrorHandlingDeserializer}, whose error path
 * (an undecodable record is dead-lettered, never blocks its partition) runs unchanged when the
 * parse fails.
 */
final class InPlaceDeserializer extends ErrorHandlingDeserializer<Object> {

  private final CatalogDeserializer values;

  InPlaceDeserializer(CatalogDeserializer values) {
    super(values::deserialize);
    this.values = values;
  }

  @Override
  public Object deserialize(String topic, Headers headers, ByteBuffer data) {
    if (data == null) {
      return super.deserialize(topic, headers, (byte[]) null);
    }
    try {
      return values.deserialize(topic, headers, data.duplicate());
    } catch (RuntimeException e) {
      // parse again the usual way: the error handling records the failure for the error handler
      return super.deserialize(topic, headers, Utils.toArray(data));
    }
  }
}

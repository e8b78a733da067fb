package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import com.google.protobuf.MessageLite;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class ProtobufSerdeTest {

  private final ProtobufSerializer serializer = new ProtobufSerializer();

  @Test
  void roundTripsAMessage() {
    Tile tile =
        Tile.newBuilder()
            .setContext(RequestContext.newBuilder().setRequestId("r1"))
            .setIndex(3)
            .build();
    byte[] bytes = serializer.serialize("t", tile);
    Tile back = new ProtobufDeserializer<>(Tile.parser()).deserialize("t", bytes);
    assertThat(back).isEqualTo(tile);
  }

  @Test
  void parsesARecordInPlaceWithoutCopyingItsBytes() {
    Tile tile =
        Tile.newBuilder()
            .setContext(RequestContext.newBuilder().setRequestId("r2"))
            .setRgb(com.google.protobuf.ByteString.copyFrom(new byte[4096]))
            .build();
    byte[] fetched = new byte[10 + tile.getSerializedSize()];
    System.arraycopy(tile.toByteArray(), 0, fetched, 10, tile.getSerializedSize());
    java.nio.ByteBuffer value = java.nio.ByteBuffer.wrap(fetched, 10, tile.getSerializedSize());

    Tile back = new ProtobufDeserializer<>(Tile.parser()).deserialize("t", null, value);
    assertThat(back).isEqualTo(tile);
    // the rgb field is a view of the fetched bytes, not a copy of them
    fetched[fetched.length - 1] = 7;
    assertThat(back.getRgb().byteAt(4095)).isEqualTo((byte) 7);
    Tile viaCatalog =
        (Tile)
            new CatalogDeserializer()
                .deserialize(
                    "ferret.tiles.local",
                    null,
                    java.nio.ByteBuffer.wrap(fetched, 10, tile.getSerializedSize()));
    assertThat(viaCatalog.getRgb().byteAt(4095)).isEqualTo((byte) 7);
  }

  @Test
  void configuresTheTypeFromTheTopicProperty() {
    ProtobufDeserializer<MessageLite> deserializer = new ProtobufDeserializer<>();
    deserializer.configure(Map.of(ProtobufDeserializer.VALUE_TYPE_CONFIG, "CONTROL"), false);
    Cancel cancel = Cancel.newBuilder().setRequestId("x").build();
    assertThat(deserializer.deserialize("ferret.control", cancel.toByteArray())).isEqualTo(cancel);
  }

  @Test
  void passesRawBytesThroughForDeadLetters() {
    byte[] raw = {1, 2, 3};
    assertThat(serializer.serialize("t.dlt", raw)).isSameAs(raw);
  }

  @Test
  void reportsGarbageAsASerializationException() {
    assertThatThrownBy(
            () ->
                new ProtobufDeserializer<>(Tile.parser())
                    .deserialize("t", new byte[] {(byte) 0xff, 1}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("not a valid protobuf");
  }

  @Test
  void routesAnswersToTheReplyPartition() {
    RequestContext context =
        RequestContext.newBuilder()
            .setRequestId("r9")
            .setReplyTo(ReplyTo.newBuilder().setPartition(2))
            .build();
    var record =
        AnswerEvents.record(
            context, TopicCatalog.defaults(), AnswerEvents.error("r9", "s", "c", "m", false));
    assertThat(record.topic()).isEqualTo("ferret.answers");
    assertThat(record.partition()).isEqualTo(2);
    assertThat(record.key()).isEqualTo("r9");
    assertThat(FerretHeaders.get(record.headers(), FerretHeaders.REPLY_PARTITION)).isEqualTo("2");
    RequestContext noRoute = RequestContext.newBuilder().setRequestId("r").build();
    assertThat(AnswerEvents.replyPartition(noRoute)).isNull();
  }
}

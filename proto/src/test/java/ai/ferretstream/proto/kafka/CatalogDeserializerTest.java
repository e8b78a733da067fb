package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class CatalogDeserializerTest {

  private final CatalogDeserializer deserializer = new CatalogDeserializer();

  @Test
  void readsEachTopicAsItsCatalogTypeWhateverThePrefix() {
    TopicCatalog catalog = new TopicCatalog("prod.");
    Cancel cancel = Cancel.newBuilder().setRequestId("r1").setReason("gone").build();
    TileFeatures features = TileFeatures.newBuilder().setIndex(3).build();

    assertThat(deserializer.deserialize(catalog.control(), cancel.toByteArray())).isEqualTo(cancel);
    assertThat(deserializer.deserialize(catalog.features(), features.toByteArray()))
        .isEqualTo(features);
    assertThat(
            deserializer.deserialize(
                TopicCatalog.defaults().tilesLocal(), Tile.getDefaultInstance().toByteArray()))
        .isInstanceOf(Tile.class);
  }

  @Test
  void readsADeadLetterTopicAsItsSourceType() {
    AnswerEvent event = AnswerEvent.newBuilder().setRequestId("r2").setSeq(4).build();

    assertThat(
            deserializer.deserialize(
                TopicCatalog.defaults().deadLetter(Topic.ANSWERS), event.toByteArray()))
        .isEqualTo(event);
  }

  @Test
  void refusesTopicsOutsideTheCatalogAndBytesThatAreNotItsType() {
    assertThatThrownBy(() -> deserializer.deserialize("orders", new byte[] {1}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("orders is not a Ferret Stream pipeline topic");
    assertThatThrownBy(
            () -> deserializer.deserialize("ferret.control", new byte[] {(byte) 0xff, 0x01}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("ferret.control is not a valid protobuf message");
  }

  @Test
  void aNullValueIsATombstone() {
    assertThat(deserializer.deserialize("ferret.answers", null)).isNull();
  }
}

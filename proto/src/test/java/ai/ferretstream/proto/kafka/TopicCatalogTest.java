package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import org.junit.jupiter.api.Test;

class TopicCatalogTest {

  @Test
  void defaultNamesMatchTheArchitecture() {
    TopicCatalog catalog = TopicCatalog.defaults();
    assertThat(catalog.requests()).isEqualTo("ferret.requests");
    assertThat(catalog.tilesGlobal()).isEqualTo("ferret.tiles.global");
    assertThat(catalog.tilesLocal()).isEqualTo("ferret.tiles.local");
    assertThat(catalog.features()).isEqualTo("ferret.features");
    assertThat(catalog.featureNotices()).isEqualTo("ferret.feature-notices");
    assertThat(catalog.fused()).isEqualTo("ferret.fused");
    assertThat(catalog.answers()).isEqualTo("ferret.answers");
    assertThat(catalog.control()).isEqualTo("ferret.control");
    assertThat(catalog.deadLetter(Topic.FEATURES)).isEqualTo("ferret.features.dlt");
    assertThat(TopicCatalog.deadLetterOf("x.y")).isEqualTo("x.y.dlt");
  }

  @Test
  void valueTypesMatchTheArchitecture() {
    assertThat(Topic.REQUESTS.valueType()).isEqualTo(AskRequest.class);
    assertThat(Topic.TILES_GLOBAL.valueType()).isEqualTo(Tile.class);
    assertThat(Topic.TILES_LOCAL.valueType()).isEqualTo(Tile.class);
    assertThat(Topic.FEATURES.valueType()).isEqualTo(TileFeatures.class);
    assertThat(Topic.FEATURE_NOTICES.valueType()).isEqualTo(TileFeatures.class);
    assertThat(Topic.FUSED.valueType()).isEqualTo(FusedContext.class);
    assertThat(Topic.ANSWERS.valueType()).isEqualTo(AnswerEvent.class);
    assertThat(Topic.CONTROL.valueType()).isEqualTo(Cancel.class);
  }

  @Test
  void prefixesEveryNameAndFindsThemBack() {
    TopicCatalog catalog = new TopicCatalog("prod.");
    assertThat(catalog.allTopicNames())
        .hasSize(Topic.values().length * 2)
        .allMatch(n -> n.startsWith("prod.ferret."));
    assertThat(catalog.lookup("prod.ferret.fused.dlt")).contains(Topic.FUSED);
    assertThat(catalog.lookup("ferret.fused")).isEmpty();
  }

  @Test
  void refusesIllegalPrefixes() {
    assertThatThrownBy(() -> new TopicCatalog("a b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefix");
  }

  @Test
  void headerNamesAreDistinctAndPrefixed() {
    var names =
        java.util.List.of(
            FerretHeaders.REQUEST_ID,
            FerretHeaders.DEADLINE,
            FerretHeaders.VALUE_TYPE,
            FerretHeaders.REPLY_PARTITION,
            FerretHeaders.PRODUCER,
            FerretHeaders.ERROR_SERVICE,
            FerretHeaders.ERROR_CLASS,
            FerretHeaders.ERROR_REASON);
    assertThat(names).doesNotHaveDuplicates().allMatch(n -> n.startsWith("ferret-"));
    var headers = new org.apache.kafka.common.header.internals.RecordHeaders();
    FerretHeaders.put(headers, FerretHeaders.REQUEST_ID, "a");
    FerretHeaders.put(headers, FerretHeaders.REQUEST_ID, "b");
    assertThat(FerretHeaders.get(headers, FerretHeaders.REQUEST_ID)).isEqualTo("b");
    assertThat(FerretHeaders.get(headers, FerretHeaders.DEADLINE)).isNull();
  }
}

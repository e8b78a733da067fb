package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

class FeatureRecordsTest {

  private static TileFeatures local(String requestId, int index) {
    return TileFeatures.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(requestId))
        .setKind(TileKind.TILE_KIND_LOCAL)
        .setIndex(index)
        .setFeaturesFp16(ByteString.copyFrom(new byte[12]))
        .build();
  }

  @Test
  void aNoticeIsTheRecordLessItsMapsNamingWhereTheyLie() {
    TileFeatures record = local("a", 2);
    FeatureRef at = FeatureRecords.ref(record, "ferret.features", 1, 40);
    TileFeatures notice = FeatureRecords.notice(record, at);

    assertThat(FeatureRecords.isNotice(notice)).isTrue();
    assertThat(FeatureRecords.isNotice(record)).isFalse();
    assertThat(notice.getFeaturesFp16().isEmpty()).isTrue();
    assertThat(notice.getFeaturesBytes()).isEqualTo(12);
    assertThat(at.getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(at.getIndex()).isEqualTo(2);
    assertThat(FeatureRecords.where(at)).isEqualTo("ferret.features-1@40");
    assertThat(notice.toBuilder().clearStoredAt().clearFeaturesBytes().build())
        .isEqualTo(record.toBuilder().clearFeaturesFp16().build());
  }

  @Test
  void aRecordReadBackMustBeTheNamedPieceOfTheRequest() {
    TileFeatures record = local("a", 2);
    FeatureRef at = FeatureRecords.ref(record, "ferret.features", 1, 40);
    assertThat(FeatureRecords.named(record, at, "a")).isSameAs(record);

    Object[][] wrong = {
      {local("b", 2), "of request b"},
      {local("a", 3), "holds TILE_KIND_LOCAL 3"},
      {record.toBuilder().setKind(TileKind.TILE_KIND_GLOBAL).build(), "holds TILE_KIND_GLOBAL"},
      {FeatureRecords.notice(record, at), "is not a feature record"},
      {Cancel.getDefaultInstance(), "is not a feature record"}
    };
    for (Object[] w : wrong) {
      assertThatThrownBy(
              () -> FeatureRecords.named((com.google.protobuf.MessageLite) w[0], at, "a"))
          .isInstanceOfSatisfying(
              PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
          .hasMessageContaining("ferret.features-1@40")
          .hasMessageContaining((String) w[1]);
    }
  }
}

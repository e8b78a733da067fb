package ai.ferretstream.gateway.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Region;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegionSyntaxTest {

  @Test
  void readsBoxesAndPointsInOrderOfAppearance() {
    List<Region> regions =
        RegionSyntax.parse(
            "Is [10, 20, 300, 400] <region_fea> left of [500,600] <region_fea>?", "p", 8);

    assertThat(regions)
        .containsExactly(
            Region.newBuilder()
                .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                .setBox(Box.newBuilder().setX1(10).setY1(20).setX2(300).setY2(400))
                .setNamedInText(true)
                .build(),
            Region.newBuilder()
                .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                .setPoint(Point.newBuilder().setX(500).setY(600))
                .setNamedInText(true)
                .build());
  }

  @Test
  void toleratesSpacingInsideTheBrackets() {
    List<Region> regions = RegionSyntax.parse("what is [ 0 ,1, 998 , 999 ]<region_fea>", "p", 8);

    assertThat(regions).hasSize(1);
    assertThat(regions.get(0).getBox())
        .isEqualTo(Box.newBuilder().setX1(0).setY1(1).setX2(998).setY2(999).build());
  }

  @Test
  void textWithoutRegionTokensHasNoRegions() {
    assertThat(RegionSyntax.parse("Where is the box [1, 2, 3, 4]?", "p", 8)).isEmpty();
  }

  @Test
  void rejectsATokenWithoutCoordinates() {
    assertThatThrownBy(() -> RegionSyntax.parse("What is this <region_fea>?", "p", 8))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.INVALID);
              assertThat(e.code()).isEqualTo("unsupported_region");
              assertThat(e.param()).isEqualTo("p");
              assertThat(e.getMessage()).contains("no coordinates");
            });
  }

  @Test
  void rejectsTheSecondTokenWhenOnlyTheFirstHasCoordinates() {
    assertThatThrownBy(
            () -> RegionSyntax.parse("[1, 2, 3, 4] <region_fea> and <region_fea>", "p", 8))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("at character 30");
  }

  @Test
  void rejectsThreeCoordinatesSayingHowMany() {
    assertThatThrownBy(() -> RegionSyntax.parse("[1, 2, 3] <region_fea>", "p", 8))
        .isInstanceOf(RequestRejected.class)
        .hasMessage(
            "region [1, 2, 3] before <region_fea> at character 10 is not valid: it has 3"
                + " coordinates; a box has 4 and a point 2; coordinates are integers 0..999,"
                + " [x1, y1, x2, y2] for a box or [x, y] for a point");
  }

  @Test
  void givesTheTrueReasonForNegativeFractionalOrNonNumericCoordinates() {
    assertThatThrownBy(() -> RegionSyntax.parse("What is [-10, 20, 30, 40] <region_fea>?", "p", 8))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.code()).isEqualTo("unsupported_region");
              assertThat(e.getMessage())
                  .startsWith("region [-10, 20, 30, 40] before <region_fea> at character 26")
                  .contains("it -10 is negative")
                  .doesNotContain("no coordinates");
            });
    assertThatThrownBy(() -> RegionSyntax.parse("[NaN, 1, 2, 3] <region_fea>", "p", 8))
        .hasMessageContaining("it NaN is not a number");
    assertThatThrownBy(() -> RegionSyntax.parse("[1, 2.5] <region_fea>", "p", 8))
        .hasMessageContaining("it 2.5 is not an integer");
    assertThatThrownBy(() -> RegionSyntax.parse("[1, ] <region_fea>", "p", 8))
        .hasMessageContaining("it has an empty coordinate");
  }

  @Test
  void rejectsCoordinatesOutsideTheGrid() {
    assertThatThrownBy(() -> RegionSyntax.parse("[1, 2, 1000, 4] <region_fea>", "p", 8))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("1000 is outside the 0..999 grid");
    assertThatThrownBy(() -> RegionSyntax.parse("[99999999999999, 2] <region_fea>", "p", 8))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("outside the 0..999 grid");
  }

  @Test
  void rejectsAnInvertedBox() {
    assertThatThrownBy(() -> RegionSyntax.parse("[500, 2, 100, 4] <region_fea>", "p", 8))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("inverted");
  }

  @Test
  void rejectsMoreRegionsThanTheLimit() {
    assertThatThrownBy(() -> RegionSyntax.parse("[1, 2] <region_fea> [3, 4] <region_fea>", "p", 1))
        .isInstanceOf(RequestRejected.class)
        .hasMessageContaining("more than 1 regions");
  }
}

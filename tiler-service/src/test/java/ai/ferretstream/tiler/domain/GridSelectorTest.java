package ai.ferretstream.tiler.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GridSelectorTest {

  static final List<Grid> FERRET_V2 =
      Stream.of(
              "1x1", "1x2", "2x1", "1x3", "3x1", "1x4", "4x1", "1x5", "5x1", "1x6", "6x1", "2x2",
              "2x3", "3x2")
          .map(Grid::parse)
          .toList();

  private final GridSelector selector = new GridSelector(FERRET_V2, 336);

  /** The eight worked examples of reference/ferret-v2.md section 1: image, grid, canvas. */
  static Stream<Arguments> workedExamples() {
    return Stream.of(
        Arguments.of(640, 480, 2, 2, 672, 672),
        Arguments.of(480, 640, 2, 2, 672, 672),
        Arguments.of(1024, 1024, 2, 2, 672, 672),
        Arguments.of(1920, 1080, 3, 2, 1008, 672),
        Arguments.of(200, 150, 1, 1, 336, 336),
        Arguments.of(3000, 500, 6, 1, 2016, 336),
        Arguments.of(800, 1200, 2, 3, 672, 1008),
        Arguments.of(1170, 2532, 2, 3, 672, 1008));
  }

  @ParameterizedTest(name = "{0}x{1} -> {2} cols x {3} rows, canvas {4}x{5}")
  @MethodSource("workedExamples")
  void picksTheReferenceGridForEveryWorkedExample(
      int width, int height, int cols, int rows, int canvasWidth, int canvasHeight) {
    TilingPlan plan = selector.plan(width, height);

    assertThat(plan.grid()).isEqualTo(new Grid(cols, rows));
    assertThat(plan.canvasWidth()).isEqualTo(canvasWidth);
    assertThat(plan.canvasHeight()).isEqualTo(canvasHeight);
    assertThat(plan.tileCount()).isEqualTo(cols * rows);
  }

  @Test
  void breaksAFullTieInFavourOfTheFirstCandidate() {
    // a 336x336 image keeps all its pixels on a 2x1 and on a 1x2 canvas, with the same waste
    GridSelector wideFirst = new GridSelector(List.of(new Grid(2, 1), new Grid(1, 2)), 336);
    GridSelector tallFirst = new GridSelector(List.of(new Grid(1, 2), new Grid(2, 1)), 336);

    assertThat(wideFirst.select(336, 336)).isEqualTo(new Grid(2, 1));
    assertThat(tallFirst.select(336, 336)).isEqualTo(new Grid(1, 2));
  }

  @Test
  void prefersLessWasteWhenEffectivePixelsAreEqual() {
    // 200x150 fits any canvas whole; 1x1 wastes the least canvas
    assertThat(selector.select(200, 150)).isEqualTo(new Grid(1, 1));
  }

  @Test
  void usesTheConfiguredTileSize() {
    GridSelector small = new GridSelector(FERRET_V2, 224);

    TilingPlan plan = small.plan(1920, 1080);

    assertThat(plan.canvasWidth()).isEqualTo(plan.grid().cols() * 224);
    assertThat(plan.canvasHeight()).isEqualTo(plan.grid().rows() * 224);
  }

  @Test
  void readsGridsAsColumnsByRows() {
    assertThat(Grid.parse("3x2")).isEqualTo(new Grid(3, 2));
    assertThat(Grid.parse(" 1 x 6 ")).isEqualTo(new Grid(1, 6));
    assertThatThrownBy(() -> Grid.parse("3*2")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Grid.parse("0x2")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rejectsAnEmptyImage() {
    assertThatThrownBy(() -> selector.select(0, 10)).isInstanceOf(IllegalArgumentException.class);
  }
}

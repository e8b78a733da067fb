package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.inferenceserver.FerretDevLlm.Finish;
import ai.ferretstream.inferenceserver.FerretDevLlm.Input;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FerretDevLlmTest {

  static final int[] WHITE = {255, 255, 255};
  static final int[] RED = {255, 0, 0};
  static final int[] BLUE = {0, 0, 255};
  static final int[] GREEN = {0, 160, 0};

  /** A local map, every cell white except the painted ones, DINOv2-normalised. */
  static float[] localMap(int rows, int cols, TestTensors.CellPainter paint) {
    float[] f = new float[rows * cols * 3];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int[] rgb = paint.colour(r, c);
        for (int ch = 0; ch < 3; ch++) {
          f[(r * cols + c) * 3 + ch] =
              (rgb[ch] / 255f - FerretDevLlm.IMAGENET_MEAN[ch]) / FerretDevLlm.IMAGENET_STD[ch];
        }
      }
    }
    return f;
  }

  /** H_a first channels of a region of colour rgb: local (ImageNet) + global (CLIP). */
  static float[] regions(int[]... colours) {
    float[] f = new float[colours.length * 3];
    for (int k = 0; k < colours.length; k++) {
      for (int ch = 0; ch < 3; ch++) {
        float c = colours[k][ch] / 255f;
        f[k * 3 + ch] =
            (c - FerretDevLlm.IMAGENET_MEAN[ch]) / FerretDevLlm.IMAGENET_STD[ch]
                + (c - FerretDevLlm.CLIP_MEAN[ch]) / FerretDevLlm.CLIP_STD[ch];
      }
    }
    return f;
  }

  static Input input(String question, int rows, int cols, TestTensors.CellPainter paint) {
    return new Input(
        TestTensors.prompt(question), rows, cols, localMap(rows, cols, paint), new float[0]);
  }

  @Test
  void extractsTheLastUserTurnWithoutImageTagAndGroundingSuffix() {
    String prompt =
        TestTensors.prompt("What is this?")
            + " It is a cat.</s>USER: Where is the red object? Include the coordinates for each"
            + " mentioned object. ASSISTANT:";

    assertThat(FerretDevLlm.lastUserTurn(prompt)).isEqualTo("Where is the red object?");
    assertThat(FerretDevLlm.lastUserTurn(TestTensors.prompt("Describe it.")))
        .isEqualTo("Describe it.");
  }

  @Test
  void groundsAColourToTheBoxOfItsCellsOnTheThousandGrid() {
    // 48 rows x 72 cols (a 2x3 grid); red cells rows 6..11, cols 36..53
    Input in =
        input(
            "Where is the red object?",
            48,
            72,
            (r, c) -> r >= 6 && r <= 11 && c >= 36 && c <= 53 ? RED : WHITE);

    // x1 = 36*1000/72 = 500, y1 = 6*1000/48 = 125, x2 = 54*1000/72-1 = 749, y2 = 12*1000/48-1 = 249
    assertThat(FerretDevLlm.answer(in)).isEqualTo("The red object is at [500, 125, 749, 249].");
  }

  @Test
  void boxReachingTheImageEdgeStopsAt999() {
    Input in = input("where is the BLUE object", 3, 7, (r, c) -> c == 6 ? BLUE : WHITE);

    // x1 = 6*1000/7 = 857, x2 = min(999, 7*1000/7 - 1) = 999
    assertThat(FerretDevLlm.answer(in)).isEqualTo("The blue object is at [857, 0, 999, 999].");
  }

  @Test
  void groundsTheLargestConnectedGroupNotEveryCellOfTheColour() {
    // a single red cell at (0,0) and a 2x3 red block at rows 4..5, cols 5..7 on a 8x8 map
    Input in =
        input(
            "Where is the red object?",
            8,
            8,
            (r, c) -> (r == 0 && c == 0) || (r >= 4 && r <= 5 && c >= 5 && c <= 7) ? RED : WHITE);

    assertThat(FerretDevLlm.largestComponentBox(in, Palette.RED))
        .containsExactly(625, 500, 999, 749);
  }

  @Test
  void diagonalCellsAreNotConnected() {
    Input in = input("Where is the red object?", 4, 4, (r, c) -> r == c ? RED : WHITE);

    // four single cells; the first in row-major order wins the tie
    assertThat(FerretDevLlm.largestComponentBox(in, Palette.RED)).containsExactly(0, 0, 249, 249);
  }

  @Test
  void saysSoWhenTheColourIsAbsentOrUnknown() {
    Input in = input("Where is the green object?", 2, 2, (r, c) -> WHITE);
    Input unknown = input("Where is the mauve object?", 2, 2, (r, c) -> WHITE);

    assertThat(FerretDevLlm.answer(in)).isEqualTo("There is no green object in the image.");
    assertThat(FerretDevLlm.answer(unknown))
        .isEqualTo(
            "I do not know the colour \"mauve\". I know white, black, grey, red, green, blue,"
                + " yellow, orange, purple and cyan.");
  }

  @Test
  void decodesTheColourOfAReferredRegionFromItsFusedEmbedding() {
    Input one =
        new Input(
            TestTensors.prompt("What is in [10, 20, 300, 400] <region_fea>?"),
            1,
            1,
            localMap(1, 1, (r, c) -> WHITE),
            regions(new int[] {250, 10, 5}));

    assertThat(FerretDevLlm.answer(one)).isEqualTo("It is red.");
  }

  @Test
  void answersSeveralRegionsInPromptOrder() {
    Input two =
        new Input(
            TestTensors.prompt(
                "What are [0, 0, 9, 9] <region_fea> and [5, 5, 20, 20] <region_fea>?"),
            1,
            1,
            localMap(1, 1, (r, c) -> WHITE),
            regions(GREEN, new int[] {130, 125, 131}));

    assertThat(FerretDevLlm.answer(two)).isEqualTo("Region 1 is green, region 2 is grey.");
  }

  /** A prompt whose earlier turns are {@code turns} (question, answer, question, answer, ...). */
  static String conversation(String question, String... turns) {
    StringBuilder earlier = new StringBuilder();
    for (int i = 0; i < turns.length; i += 2) {
      earlier.append(i == 0 ? "" : "USER: ").append(turns[i]).append(" ASSISTANT: ");
      earlier.append(turns[i + 1]).append("</s>");
    }
    String first = turns.length == 0 ? question : earlier + "USER: " + question;
    return TestTensors.prompt(first);
  }

  @Test
  void readsEveryUserTurnOfTheConversation() {
    String prompt =
        conversation(
            "And the blue one? " + FerretDevLlm.GROUNDING_SUFFIX,
            "Where is the red object?",
            "The red object is at [0, 0, 499, 999].",
            "Thanks",
            "You are welcome.");
    assertThat(FerretDevLlm.userTurns(prompt))
        .containsExactly("Where is the red object?", "Thanks", "And the blue one?");
  }

  @Test
  void andTheOtherColourOneAfterAWhereQuestionGroundsThatColour() {
    float[] map = localMap(48, 72, (r, c) -> c < 36 ? RED : c >= 60 ? BLUE : WHITE);
    Input followUp =
        new Input(
            conversation(
                "And the blue one? " + FerretDevLlm.GROUNDING_SUFFIX,
                "Where is the red object? " + FerretDevLlm.GROUNDING_SUFFIX,
                "The red object is at [0, 0, 499, 999].",
                "Is it big?",
                "It is."),
            48,
            72,
            map,
            new float[0]);

    // blue columns 60..71: x1 = 60*1000/72 = 833
    assertThat(FerretDevLlm.answer(followUp))
        .isEqualTo("The blue object is at [833, 0, 999, 999].");
  }

  @Test
  void andTheOtherColourOneWithoutAnEarlierWhereQuestionIsNotUnderstood() {
    float[] map = localMap(2, 2, (r, c) -> c == 0 ? RED : BLUE);
    Input alone = new Input(conversation("And the blue one?"), 2, 2, map, new float[0]);
    Input afterOther =
        new Input(
            conversation("and the blue one", "What is this?", "Colours."), 2, 2, map, new float[0]);

    assertThat(FerretDevLlm.answer(alone))
        .isEqualTo(
            "I do not know what \"one\" refers to: no earlier question asked where something is.");
    assertThat(FerretDevLlm.answer(afterOther)).isEqualTo(FerretDevLlm.answer(alone));
  }

  @Test
  void andThisOneRelatesTheNewRegionToTheEarlierTurnsLastRegion() {
    float[] white = localMap(1, 1, (r, c) -> WHITE);
    String[] earlier = {
      "What is in [0, 0, 9, 9] <region_fea> and [10, 10, 20, 20] <region_fea>?",
      "Region 1 is green, region 2 is red.",
      "Nice.",
      "Thanks."
    };
    Input other =
        new Input(
            conversation("And this one? [500, 500, 600, 600] <region_fea>", earlier),
            1,
            1,
            white,
            regions(GREEN, RED, BLUE));
    Input same =
        new Input(
            conversation("And this one? [500, 500] <region_fea>", earlier),
            1,
            1,
            white,
            regions(GREEN, RED, new int[] {240, 10, 10}));

    // the question's region is the last row; the earlier region compared is row 1 (red), not 0
    assertThat(FerretDevLlm.answer(other)).isEqualTo("It is blue; the earlier region was red.");
    assertThat(FerretDevLlm.answer(same)).isEqualTo("It is red too.");
  }

  @Test
  void andThisOneWithoutAnEarlierRegionNamesItsColourOnly() {
    Input alone =
        new Input(
            conversation("And this one? [1, 2, 3, 4] <region_fea>", "Where is it?", "Here."),
            1,
            1,
            localMap(1, 1, (r, c) -> WHITE),
            regions(BLUE));

    assertThat(FerretDevLlm.answer(alone))
        .isEqualTo(
            "It is blue. No earlier turn referred to a region, so there is nothing to compare it"
                + " with.");
  }

  @Test
  void regionEmbeddingsMustMatchEveryTurnsRegionTokens() {
    Input missing =
        new Input(
            conversation(
                "And this one? [1, 2] <region_fea>", "What is [1, 2] <region_fea>?", "Red."),
            1,
            1,
            localMap(1, 1, (r, c) -> WHITE),
            regions(BLUE));

    assertThatThrownBy(() -> FerretDevLlm.answer(missing))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining("2 <region_fea> token(s) but region_embeddings has 1 row(s)");
  }

  @Test
  void regionEmbeddingsMustMatchTheRegionTokens() {
    Input missing =
        new Input(
            TestTensors.prompt("What is [1, 2, 3, 4] <region_fea>?"),
            1,
            1,
            localMap(1, 1, (r, c) -> WHITE),
            new float[0]);

    assertThatThrownBy(() -> FerretDevLlm.answer(missing))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining("1 <region_fea> token(s) but region_embeddings has 0 row(s)");
  }

  @Test
  void describesTheColoursCoveringMoreThanTwoPercentByArea() {
    // 10x10: 60 white, 30 blue, 9 red, 1 green (1% -> not mentioned)
    Input in =
        input(
            "What do you see?",
            10,
            10,
            (r, c) -> {
              int i = r * 10 + c;
              return i < 60 ? WHITE : i < 90 ? BLUE : i < 99 ? RED : GREEN;
            });

    assertThat(FerretDevLlm.answer(in))
        .isEqualTo("This is the Ferret Stream dev model. The image shows white, blue and red.");
  }

  @Test
  void classifiesToTheNearestPaletteColour() {
    assertThat(Palette.nearest(250, 160, 10)).isEqualTo(Palette.ORANGE);
    assertThat(Palette.nearest(20, 140, 30)).isEqualTo(Palette.GREEN);
    assertThat(Palette.nearest(120, 10, 140)).isEqualTo(Palette.PURPLE);
    assertThat(Palette.byWord("Gray")).contains(Palette.GREY);
  }

  @Test
  void streamsEveryPieceAndMarksTheLast() {
    Recorder out = new Recorder(-1);

    Finish finish =
        FerretDevLlm.stream(List.of("It", " is", " red", "."), SamplingParameters.DEFAULTS, out);

    assertThat(finish).isEqualTo(Finish.END);
    assertThat(out.pieces).containsExactly("It", " is", " red", ".");
    assertThat(out.lastFlags).containsExactly(false, false, false, true);
  }

  @Test
  void stopsAfterMaxTokensPieces() {
    Recorder out = new Recorder(-1);
    SamplingParameters two = new SamplingParameters(2, 1, 1, 0, List.of());

    Finish finish = FerretDevLlm.stream(List.of("It", " is", " red", "."), two, out);

    assertThat(finish).isEqualTo(Finish.LENGTH);
    assertThat(out.pieces).containsExactly("It", " is");
    assertThat(out.lastFlags).containsExactly(false, true);
  }

  @Test
  void endsBeforeAStopStringEvenAcrossPieces() {
    Recorder out = new Recorder(-1);
    SamplingParameters stop = new SamplingParameters(100, 1, 1, 0, List.of("s re"));

    Finish finish = FerretDevLlm.stream(List.of("It", " is", " red", "."), stop, out);

    assertThat(finish).isEqualTo(Finish.STOP);
    assertThat(out.pieces).containsExactly("It", " i"); // "s" held back: it may start "s re"
    assertThat(out.lastFlags).containsExactly(false, false);
  }

  @Test
  void releasesHeldBackTextThatTurnsOutNotToBeAStopString() {
    Recorder out = new Recorder(-1);
    SamplingParameters stop = new SamplingParameters(100, 1, 1, 0, List.of(" is blue"));

    Finish finish = FerretDevLlm.stream(List.of("It", " is", " red", "."), stop, out);

    assertThat(finish).isEqualTo(Finish.END);
    assertThat(out.pieces).containsExactly("It", " is red", ".");
    assertThat(out.lastFlags).containsExactly(false, false, true);
  }

  @Test
  void stopsGeneratingOnceTheClientCancels() {
    Recorder out = new Recorder(2);

    Finish finish =
        FerretDevLlm.stream(List.of("It", " is", " red", "."), SamplingParameters.DEFAULTS, out);

    assertThat(finish).isEqualTo(Finish.CANCELLED);
    assertThat(out.pieces).containsExactly("It", " is");
  }

  /** Records pieces; reports cancellation once {@code cancelAfter} pieces were sent (-1 never). */
  static final class Recorder implements FerretDevLlm.PieceSink {
    final List<String> pieces = new ArrayList<>();
    final List<Boolean> lastFlags = new ArrayList<>();
    final int cancelAfter;

    Recorder(int cancelAfter) {
      this.cancelAfter = cancelAfter;
    }

    @Override
    public void piece(String text, boolean last) {
      pieces.add(text);
      lastFlags.add(last);
    }

    @Override
    public boolean cancelled() {
      return cancelAfter >= 0 && pieces.size() >= cancelAfter;
    }
  }
}

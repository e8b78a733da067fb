package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AnswerPiecesTest {

  @Test
  void splitsWordsWithTheirLeadingSpaceAndPunctuationApart() {
    assertThat(AnswerPieces.split("The red object is at [120, 340, 560, 780]."))
        .containsExactly(
            "The", " red", " object", " is", " at", " [", "120", ",", " 340", ",", " 560", ",",
            " 780", "]", ".");
  }

  @Test
  void joiningThePiecesGivesTheTextBack() {
    for (String text :
        List.of(
            "Region 1 is red, region 2 is blue.",
            "  leading and trailing  ",
            "I do not know the colour \"mauve\". I know white, black and cyan.",
            "Grüße: naïve café",
            "")) {
      assertThat(String.join("", AnswerPieces.split(text))).isEqualTo(text);
    }
  }

  @Test
  void emptyTextHasNoPieces() {
    assertThat(AnswerPieces.split("")).isEmpty();
  }
}

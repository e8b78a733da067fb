package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BoxParserTest {

  private static List<BoxParser.Found> feed(BoxParser parser, String... pieces) {
    List<BoxParser.Found> all = new ArrayList<>();
    for (String p : pieces) {
      all.addAll(parser.append(p));
    }
    return all;
  }

  @Test
  void boxIsFoundWhenItsClosingBracketArrives() {
    BoxParser parser = new BoxParser();
    assertThat(parser.append("The cat is at [12")).isEmpty();
    assertThat(parser.append(", 34, 56")).isEmpty();
    assertThat(parser.append(", 78")).isEmpty();
    List<BoxParser.Found> found = parser.append("] and");
    assertThat(found).hasSize(1);
    BoxParser.Found box = found.get(0);
    assertThat(box.x1()).isEqualTo(12);
    assertThat(box.y1()).isEqualTo(34);
    assertThat(box.x2()).isEqualTo(56);
    assertThat(box.y2()).isEqualTo(78);
    assertThat(box.end()).isEqualTo("The cat is at [12, 34, 56, 78]".length());
    assertThat(box.phrase()).isEqualTo("cat");
  }

  @Test
  void eachBoxIsReportedOnce() {
    BoxParser parser = new BoxParser();
    assertThat(feed(parser, "A dog [1, 2, 3, 4]", " runs", ".")).hasSize(1);
    assertThat(parser.append(" More text.")).isEmpty();
  }

  @Test
  void phrasesAreTheNounsBeforeEachBox() {
    BoxParser parser = new BoxParser();
    List<BoxParser.Found> found =
        feed(
            parser,
            "It's a magnifier [310, 15, 350, 320] held by a ferret [150, 71, 512, 955].",
            " The red square is at [100, 200, 300, 400], the blue circle at [5, 6, 7, 8].");
    assertThat(found)
        .extracting(BoxParser.Found::phrase)
        .containsExactly("magnifier", "ferret", "red square", "blue circle");
  }

  @Test
  void boxesOfOnePhraseShareIt() {
    BoxParser parser = new BoxParser();
    List<BoxParser.Found> found = feed(parser, "Two ferrets [[1, 2, 3, 4], [5, 6, 7, 8]] play.");
    assertThat(found)
        .extracting(BoxParser.Found::phrase)
        .containsExactly("Two ferrets", "Two ferrets");
  }

  @Test
  void decimalCoordinatesAreAccepted() {
    BoxParser parser = new BoxParser();
    List<BoxParser.Found> found = feed(parser, "the ball [1.5, 2.25, 300, 400.75]");
    assertThat(found).hasSize(1);
    assertThat(found.get(0).x1()).isEqualTo(1.5);
    assertThat(found.get(0).y2()).isEqualTo(400.75);
    assertThat(found.get(0).phrase()).isEqualTo("ball");
  }

  @Test
  void textThatIsNotABoxIsIgnored() {
    BoxParser parser = new BoxParser();
    assertThat(feed(parser, "[a, b] [1, 2, 3] [1,2,3,4] [", "x]")).isEmpty();
    assertThat(parser.text()).isEqualTo("[a, b] [1, 2, 3] [1,2,3,4] [x]");
  }
}

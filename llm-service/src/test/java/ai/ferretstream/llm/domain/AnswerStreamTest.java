package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.ResizeMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AnswerStreamTest {

  private final AnswerStream stream = new AnswerStream("r", 640, 480, 4, () -> 42L);

  private List<AnswerEvent> feed(String... pieces) {
    List<AnswerEvent> out = new ArrayList<>();
    for (String p : pieces) {
      out.addAll(stream.onPiece(p));
    }
    return out;
  }

  @Test
  void oneDeltaEveryNPieces() {
    assertThat(feed("a", "b", "c")).isEmpty();
    List<AnswerEvent> events = feed("d", "e");
    assertThat(events).hasSize(1);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("abcd");
    assertThat(stream.flush()).extracting(e -> e.getDelta().getText()).containsExactly("e");
    assertThat(stream.flush()).isEmpty();
  }

  @Test
  void completedBoxFlushesItsDeltaThenFollowsIt() {
    List<AnswerEvent> events =
        feed("The", " cat", " is", " at", " [10", ", 20", ", 500", ", 999]", " and");
    assertThat(events).hasSize(3);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("The cat is at");
    assertThat(events.get(1).getDelta().getText()).isEqualTo(" [10, 20, 500, 999]");
    AnswerEvent box = events.get(2);
    assertThat(box.hasBox()).isTrue();
    assertThat(box.getBox().getPhrase()).isEqualTo("cat");
    assertThat(box.getBox().getBox999())
        .isEqualTo(Box.newBuilder().setX1(10).setY1(20).setX2(500).setY2(999).build());
    assertThat(box.getBox().getBoxPixels())
        .isEqualTo(Box.newBuilder().setX1(6).setY1(9).setX2(320).setY2(479).build());
    assertThat(box.getBox().getCharOffset()).isEqualTo("The cat is at [10, 20, 500, 999]".length());
  }

  /** 640x480 padded onto a 2x2 canvas (672x672): the image fills y 84..588. */
  private static final GridLayout PAD_640X480 =
      GridLayout.newBuilder()
          .setImageWidth(640)
          .setImageHeight(480)
          .setCols(2)
          .setRows(2)
          .setTileSize(336)
          .setCanvasWidth(672)
          .setCanvasHeight(672)
          .setMode(ResizeMode.RESIZE_MODE_PAD)
          .setContentX(0)
          .setContentY(84)
          .setContentWidth(672)
          .setContentHeight(504)
          .build();

  private static GroundedBox onlyBox(AnswerStream answer, String text) {
    List<AnswerEvent> events = new ArrayList<>(answer.onPiece(text));
    events.addAll(answer.flush());
    return events.stream().filter(AnswerEvent::hasBox).findFirst().orElseThrow().getBox();
  }

  private static Box box(int x1, int y1, int x2, int y2) {
    return Box.newBuilder().setX1(x1).setY1(y1).setX2(x2).setY2(y2).build();
  }

  @Test
  void mapsABoxOnThePaddedCanvasBackOntoTheOriginalImage() {
    AnswerStream padded = new AnswerStream("r", PAD_640X480, 1, 0, () -> 42L);

    // canvas y 200/1000 * 672 = 134.4 -> image (134.4 - 84) / 504 = 0.1; 800 -> 0.9
    GroundedBox box = onlyBox(padded, "The cat [100, 200, 500, 800].");

    assertThat(box.getBox999()).isEqualTo(box(100, 100, 500, 900));
    assertThat(box.getBoxPixels()).isEqualTo(box(64, 48, 320, 432));
  }

  @Test
  void mapsABoxOnACanvasPaddedLeftAndRight() {
    // 500x1000 on a 2x3 canvas (672x1008): the image fills x 84..588
    GridLayout layout =
        PAD_640X480.toBuilder()
            .setImageWidth(500)
            .setImageHeight(1000)
            .setRows(3)
            .setCanvasHeight(1008)
            .setContentX(84)
            .setContentY(0)
            .setContentWidth(504)
            .setContentHeight(1008)
            .build();
    AnswerStream padded = new AnswerStream("r", layout, 1, 0, () -> 42L);

    GroundedBox box = onlyBox(padded, "The cat [500, 0, 600, 999].");

    // x (500 * 672 - 84000) / 504 = 500, (600 * 672 - 84000) / 504 = 633.3
    assertThat(box.getBox999()).isEqualTo(box(500, 0, 633, 999));
    assertThat(box.getBoxPixels()).isEqualTo(box(250, 0, 316, 999));
  }

  @Test
  void clampsABoxThatReachesIntoThePaddingToTheImage() {
    AnswerStream padded = new AnswerStream("r", PAD_640X480, 1, 0, () -> 42L);

    GroundedBox box = onlyBox(padded, "The frame [0, 0, 999, 999].");

    assertThat(box.getBox999()).isEqualTo(box(0, 0, 999, 999));
    assertThat(box.getBoxPixels()).isEqualTo(box(0, 0, 639, 479));
  }

  @Test
  void leavesABoxOnAStretchedCanvasAsTheModelWroteIt() {
    GridLayout stretch =
        PAD_640X480.toBuilder()
            .setMode(ResizeMode.RESIZE_MODE_STRETCH)
            .setContentY(0)
            .setContentHeight(672)
            .build();
    AnswerStream stretched = new AnswerStream("r", stretch, 1, 0, () -> 42L);

    GroundedBox box = onlyBox(stretched, "The cat [10, 20, 500, 999].");

    assertThat(box.getBox999()).isEqualTo(box(10, 20, 500, 999));
    assertThat(box.getBoxPixels()).isEqualTo(box(6, 9, 320, 479));
  }

  @Test
  void boxCompletingMidBatchFlushesEarly() {
    List<AnswerEvent> events = feed("x [1, 2, 3, 4]", "y");
    assertThat(events).hasSize(2);
    assertThat(events.get(0).getDelta().getText()).isEqualTo("x [1, 2, 3, 4]");
    assertThat(events.get(1).hasBox()).isTrue();
  }

  @Test
  void eventsAreNumberedFromZeroThroughDone() {
    List<AnswerEvent> events = new ArrayList<>(feed("a", "b", "c", "d", "[1, 2, 3, 4]"));
    events.addAll(stream.flush());
    events.add(stream.done("stop", UsageEstimate.of(10, 0, "a b", 5), Map.of("x", 1L), "m"));
    assertThat(events).extracting(AnswerEvent::getSeq).containsExactly(0L, 1L, 2L, 3L);
    assertThat(events).allSatisfy(e -> assertThat(e.getRequestId()).isEqualTo("r"));
    assertThat(events).allSatisfy(e -> assertThat(e.getCreatedUnixMs()).isEqualTo(42L));
    AnswerEvent done = events.get(3);
    assertThat(done.getDone().getFinishReason()).isEqualTo("stop");
    assertThat(done.getDone().getUsage().getPromptTokens()).isEqualTo(12);
    assertThat(done.getDone().getUsage().getCompletionTokens()).isEqualTo(5);
    assertThat(done.getDone().getTimingsMap()).containsEntry("x", 1L);
    assertThat(stream.pieces()).isEqualTo(5);
    assertThat(stream.text()).isEqualTo("abcd[1, 2, 3, 4]");
  }

  @Test
  void emittedTellsWhetherAnyEventWentOut() {
    feed("a", "b");
    assertThat(stream.emitted()).isFalse();
    feed("c", "d");
    assertThat(stream.emitted()).isTrue();
    AnswerEvent error = stream.error("llm-service", "inference_failed", "boom", false);
    assertThat(error.getSeq()).isEqualTo(1);
    assertThat(error.getError().getCode()).isEqualTo("inference_failed");
  }

  @Test
  void usageCountsImageTokensRegionsAndPromptWords() {
    assertThat(UsageEstimate.of(2880, 2, "  USER: <image>\nhello  world ", 7).getPromptTokens())
        .isEqualTo(2880 + 2 + 4);
  }
}

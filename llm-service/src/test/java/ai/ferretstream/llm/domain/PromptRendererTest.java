package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.Point;
import ai.ferretstream.proto.v1.Polygon;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Turn;
import ai.ferretstream.testsupport.MaskPngs;
import org.junit.jupiter.api.Test;

class PromptRendererTest {

  private static final String SYSTEM =
      "A chat between a human and an AI that understands visuals. In images, [x, y] denotes"
          + " points: top-left [0, 0], bottom-right [width-1, height-1]. Increasing x moves"
          + " right; y moves down. Bounding box: [x1, y1, x2, y2]. Image size: 1000x1000. Follow"
          + " instructions.";

  private final PromptRenderer renderer = new PromptRenderer(PromptTemplate.ferretV1());

  @Test
  void oneTurnIsTheFerretV1Template() {
    RequestContext context = RequestContext.newBuilder().setPrompt("What is in the image?").build();
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(SYSTEM + "  USER: <image>\nWhat is in the image? ASSISTANT:");
  }

  @Test
  void earlierTurnsComeFirstAndOnlyTheFirstCarriesTheImage() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("What is this?").setAssistant("A ferret."))
            .setPrompt("What colour is it?")
            .build();
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(
            SYSTEM
                + "  USER: <image>\nWhat is this? ASSISTANT: A ferret.</s>"
                + "USER: What colour is it? ASSISTANT:");
  }

  @Test
  void threeTurnsSeparateEveryAnswerWithTheTurnEnd() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("q1").setAssistant("a1"))
            .addHistory(Turn.newBuilder().setUser("q2").setAssistant("a2"))
            .setPrompt("q3")
            .build();
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(
            SYSTEM
                + "  USER: <image>\nq1 ASSISTANT: a1</s>USER: q2 ASSISTANT: a2</s>USER: q3"
                + " ASSISTANT:");
  }

  @Test
  void groundingAppendsTheSuffixToTheCurrentQuestion() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("Hi").setAssistant("Hello."))
            .setPrompt("Where is the red square?")
            .setGrounding(true)
            .build();
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(
            SYSTEM
                + "  USER: <image>\nHi ASSISTANT: Hello.</s>USER: Where is the red square?"
                + " Include the coordinates for each mentioned object. ASSISTANT:");
  }

  @Test
  void unnamedRegionsGetTheirCoordinatesBeforeTheirPlaceholders() {
    RequestContext context =
        RequestContext.newBuilder()
            .setPrompt("Is <region_fea> bigger than <region_fea> or <region_fea>?")
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setBox(Box.newBuilder().setX1(64).setY1(48).setX2(640).setY2(479)))
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setPoint(Point.newBuilder().setX(320).setY(240)))
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                    .setBox(Box.newBuilder().setX1(10).setY1(20).setX2(30).setY2(40)))
            .build();
    // 640 is clamped to 639: int(639 * 1000 / 640) = 998
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(
            SYSTEM
                + "  USER: <image>\nIs [100, 100, 998, 997] <region_fea> bigger than [500, 500]"
                + " <region_fea> or [10, 20, 30, 40] <region_fea>? ASSISTANT:");
  }

  @Test
  void regionsNamedInTheTextAreLeftAlone() {
    RequestContext context =
        RequestContext.newBuilder()
            .setPrompt("What is [1, 2, 3, 4] <region_fea>?")
            .addRegions(
                Region.newBuilder()
                    .setNamedInText(true)
                    .setBox(Box.newBuilder().setX1(1).setY1(2).setX2(3).setY2(4)))
            .build();
    assertThat(renderer.render(context, 640, 480))
        .endsWith("USER: <image>\nWhat is [1, 2, 3, 4] <region_fea>? ASSISTANT:");
  }

  @Test
  void polygonRegionIsWrittenAsItsBoundingBox() {
    Region polygon =
        Region.newBuilder()
            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
            .setPolygon(
                Polygon.newBuilder()
                    .addVertices(Point.newBuilder().setX(100).setY(50))
                    .addVertices(Point.newBuilder().setX(300).setY(100))
                    .addVertices(Point.newBuilder().setX(200).setY(400)))
            .build();
    assertThat(PromptRenderer.coordinates(polygon, 1000, 500)).isEqualTo("[100, 100, 300, 800]");
  }

  /** An L within x 20..149, y 10..79 of a 200x100 image. */
  private static final MaskPngs.Shape L =
      (x, y) ->
          (x >= 20 && x < 40 && y >= 10 && y < 80) || (x >= 20 && x < 150 && y >= 60 && y < 80);

  private static Region mask(CoordinateSpace space, MaskPngs.Shape shape) {
    return Region.newBuilder()
        .setSpace(space)
        .setMaskPng(MaskPngs.png(MaskPngs.grey(200, 100, shape)))
        .build();
  }

  @Test
  void maskRegionIsWrittenAsTheBoundingBoxOfItsPixels() {
    // int(20 * 1000 / 200) = 100, int(10 * 1000 / 100) = 100, int(149 * 1000 / 200) = 745,
    // int(79 * 1000 / 100) = 790
    Region region = mask(CoordinateSpace.COORDINATE_SPACE_PIXELS, L);
    assertThat(PromptRenderer.coordinates(region, 200, 100)).isEqualTo("[100, 100, 745, 790]");
    Region polygon =
        Region.newBuilder()
            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
            .setPolygon(
                Polygon.newBuilder()
                    .addVertices(Point.newBuilder().setX(20).setY(10))
                    .addVertices(Point.newBuilder().setX(149).setY(10))
                    .addVertices(Point.newBuilder().setX(149).setY(79))
                    .addVertices(Point.newBuilder().setX(20).setY(79)))
            .build();
    RequestContext withMask =
        RequestContext.newBuilder().setPrompt("What is <region_fea>?").addRegions(region).build();
    RequestContext withPolygon = withMask.toBuilder().setRegions(0, polygon).build();
    assertThat(renderer.render(withMask, 200, 100))
        .isEqualTo(renderer.render(withPolygon, 200, 100))
        .endsWith("USER: <image>\nWhat is [100, 100, 745, 790] <region_fea>? ASSISTANT:");
  }

  @Test
  void maskCoordinatesAreAlwaysPixelsOfTheOriginalImage() {
    // the region's space does not apply to a mask image
    Region region = mask(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999, L);
    assertThat(PromptRenderer.coordinates(region, 200, 100)).isEqualTo("[100, 100, 745, 790]");
  }

  @Test
  void singlePixelAndFullImageMasks() {
    Region corner = mask(CoordinateSpace.COORDINATE_SPACE_PIXELS, (x, y) -> x == 199 && y == 0);
    assertThat(PromptRenderer.coordinates(corner, 200, 100)).isEqualTo("[995, 0, 995, 0]");
    Region full = mask(CoordinateSpace.COORDINATE_SPACE_PIXELS, (x, y) -> true);
    assertThat(PromptRenderer.coordinates(full, 200, 100)).isEqualTo("[0, 0, 995, 990]");
  }

  @Test
  void maskRegionNamedInTheTextIsNotDecoded() {
    RequestContext context =
        RequestContext.newBuilder()
            .setPrompt("What is [1, 2, 3, 4] <region_fea>?")
            .addRegions(
                Region.newBuilder()
                    .setNamedInText(true)
                    .setMaskPng(com.google.protobuf.ByteString.copyFromUtf8("not a png")))
            .build();
    assertThat(renderer.render(context, 640, 480))
        .endsWith("USER: <image>\nWhat is [1, 2, 3, 4] <region_fea>? ASSISTANT:");
  }

  @Test
  void badMaskRegionsAreInvalidRegions() {
    RequestContext wrongSize =
        RequestContext.newBuilder()
            .setPrompt("What is <region_fea>?")
            .addRegions(mask(CoordinateSpace.COORDINATE_SPACE_PIXELS, L))
            .build();
    assertThatThrownBy(() -> renderer.render(wrongSize, 100, 200))
        .isInstanceOfSatisfying(
            PermanentFailure.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_region");
              assertThat(e.getMessage()).contains("200x100").contains("100x200");
            });
    RequestContext garbage =
        wrongSize.toBuilder()
            .setRegions(
                0, Region.newBuilder().setMaskPng(com.google.protobuf.ByteString.copyFromUtf8("x")))
            .build();
    assertThatThrownBy(() -> renderer.render(garbage, 200, 100))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
    RequestContext empty =
        wrongSize.toBuilder()
            .setRegions(0, mask(CoordinateSpace.COORDINATE_SPACE_PIXELS, (x, y) -> false))
            .build();
    assertThatThrownBy(() -> renderer.render(empty, 200, 100))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
  }

  @Test
  void placeholdersAndRegionsMustMatch() {
    RequestContext context = RequestContext.newBuilder().setPrompt("What is <region_fea>?").build();
    assertThatThrownBy(() -> renderer.render(context, 640, 480))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"));
  }

  @Test
  void earlierTurnsKeepTheirRegionsInPlace() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(
                Turn.newBuilder()
                    .setUser("What is <region_fea>?")
                    .setAssistant("It is red.")
                    .addRegions(
                        Region.newBuilder()
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                            .setBox(Box.newBuilder().setX1(64).setY1(48).setX2(320).setY2(240))))
            .addHistory(Turn.newBuilder().setUser("Is it big?").setAssistant("Yes."))
            .addHistory(
                Turn.newBuilder()
                    .setUser("And [5, 6] <region_fea>?")
                    .setAssistant("It is blue.")
                    .addRegions(
                        Region.newBuilder()
                            .setNamedInText(true)
                            .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
                            .setPoint(Point.newBuilder().setX(5).setY(6))))
            .setPrompt("And this one? <region_fea>")
            .addRegions(
                Region.newBuilder()
                    .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
                    .setPoint(Point.newBuilder().setX(320).setY(240)))
            .build();
    assertThat(renderer.render(context, 640, 480))
        .isEqualTo(
            SYSTEM
                + "  USER: <image>\nWhat is [100, 100, 500, 500] <region_fea>? ASSISTANT: It is"
                + " red.</s>USER: Is it big? ASSISTANT: Yes.</s>USER: And [5, 6] <region_fea>?"
                + " ASSISTANT: It is blue.</s>USER: And this one? [500, 500] <region_fea>"
                + " ASSISTANT:");
    assertThat(PromptRenderer.regionCount(context)).isEqualTo(3);
  }

  @Test
  void anEarlierTurnsPlaceholdersMustMatchItsRegionsAndTheErrorNamesTheTurn() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("q1").setAssistant("a1"))
            .addHistory(Turn.newBuilder().setUser("What is <region_fea>?").setAssistant("Red."))
            .setPrompt("And now?")
            .build();
    assertThatThrownBy(() -> renderer.render(context, 640, 480))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_region"))
        .hasMessage("history turn 2 has 1 <region_fea> placeholders but 0 regions");
  }

  @Test
  void anEarlierAnswerCannotHoldARegionPlaceholder() {
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("q1").setAssistant("It is <region_fea>."))
            .setPrompt("And now?")
            .build();
    assertThatThrownBy(() -> renderer.render(context, 640, 480))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_request"))
        .hasMessageContaining("the answer of history turn 1 holds <region_fea>");
  }

  @Test
  void templatePiecesAreConfigurable() {
    PromptRenderer custom =
        new PromptRenderer(
            new PromptTemplate(
                "SYS", "\n", "Human", "Bot", "\n", "<end>\n", "<img>", " [g]", "<r>"));
    RequestContext context =
        RequestContext.newBuilder()
            .addHistory(Turn.newBuilder().setUser("a").setAssistant("b"))
            .setPrompt("c")
            .setGrounding(true)
            .build();
    assertThat(custom.render(context, 10, 10))
        .isEqualTo("SYS\nHuman: <img>a\nBot: b<end>\nHuman: c [g]\nBot:");
  }
}

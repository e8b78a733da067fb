package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's web page in headless Chromium (Debian's {@code chromium}, driven by {@code
 * playwright-core} from {@code gateway-service/src/test/web}, installed by {@code .ci/run}) against
 * the whole local stack, through one conversation about an image: it draws a box on the blue
 * rectangle and asks what is in it, then follows up with "Where is the red object?" and "And the
 * blue one?" (the dev LLM grounds the blue object only when the history holds the where-question).
 * Every turn's question and answer must stay in the log, each follow-up must send the earlier turns
 * (question as written, its region, answer as received) as history, each turn's box overlay must
 * lie on its rectangle; "New conversation" and another image must each start an empty conversation;
 * a refused question shows its error on its own turn and is left out of the next question's
 * history. The screenshot of the three-turn conversation is saved as {@code
 * launcher/target/web-page-conversation.png}.
 */
class WebPageIT {

  private static final Path NODE_DIR = Path.of("..", "gateway-service", "src", "test", "web");

  @Test
  void keepsAConversationPerImageWithEveryTurnsAnswerAndBoxes() throws Exception {
    assertThat(NODE_DIR.resolve("node_modules/playwright-core"))
        .as("playwright-core is installed: run npm ci --prefix gateway-service/src/test/web")
        .exists();
    assertThat(Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium")))
        .as("Debian's chromium is installed (apt-get install chromium)")
        .exists();
    EndToEndIT.Shape shape = new EndToEndIT.Shape(1920, 1080, 3, 2);
    Path image = Files.createTempFile("ferret-web", ".png");
    Files.write(image, EndToEndIT.image(shape));
    Path otherImage = Files.createTempFile("ferret-web-other", ".png");
    Files.write(otherImage, EndToEndIT.image(new EndToEndIT.Shape(1280, 960, 2, 2)));
    Path screenshot = Path.of("target", "web-page-conversation.png").toAbsolutePath();
    Files.createDirectories(screenshot.getParent());
    Files.deleteIfExists(screenshot);
    EndToEndIT.Rect blue = shape.blue();
    EndToEndIT.Rect red = shape.red();

    try (LocalStack stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start()) {
      Process node =
          new ProcessBuilder(
                  List.of(
                      "node",
                      "web-page-test.mjs",
                      stack.gatewayUrl(),
                      image.toAbsolutePath().toString(),
                      otherImage.toAbsolutePath().toString(),
                      screenshot.toString(),
                      blue.x0() + "," + blue.y0() + "," + blue.x1() + "," + blue.y1()))
              .directory(NODE_DIR.toFile())
              .redirectErrorStream(true)
              .start();
      assertThat(node.waitFor(4, TimeUnit.MINUTES)).as("the browser test finished").isTrue();
      String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(node.exitValue()).as(output).isZero();
      String[] lines = output.strip().split("\n");
      JsonNode result = JsonMapper.builder().build().readTree(lines[lines.length - 1]);

      assertThat(result.get("modelNote").stringValue()).contains("DEV MODELS");
      assertThat(result.get("regions").stringValue()).isEqualTo("1 region(s)");
      assertThat(result.get("regionsAfterAsking").stringValue())
          .as("the drawn region went with the question")
          .isEmpty();

      // all three turns stay visible, each with its question and its answer
      JsonNode turns = result.get("turns");
      assertThat(turns.size()).as("%s", result).isEqualTo(3);
      for (JsonNode turn : turns) {
        assertThat(turn.get("state").stringValue()).as("%s", turn).isEqualTo("done");
        assertThat(turn.get("visible").booleanValue()).as("%s", turn).isTrue();
      }
      assertThat(turns.get(0).get("question").stringValue()).contains("What is in <region_fea>?");
      assertThat(turns.get(1).get("question").stringValue()).contains("Where is the red object?");
      assertThat(turns.get(2).get("question").stringValue()).contains("And the blue one?");
      String first = turns.get(0).get("answer").stringValue();
      String second = turns.get(1).get("answer").stringValue();
      assertThat(first.toLowerCase(Locale.ROOT)).contains("blue");
      assertThat(second.toLowerCase(Locale.ROOT)).contains("red");
      assertThat(turns.get(2).get("answer").stringValue().toLowerCase(Locale.ROOT))
          .contains("blue");

      // each request carried the whole conversation before it
      JsonNode requests = result.get("requests");
      assertThat(requests.size()).as("%s", requests).isEqualTo(7);
      assertThat(requests.get(0).get("history").size()).isZero();
      assertThat(requests.get(0).get("regions").size()).isEqualTo(1);
      JsonNode history = requests.get(1).get("history");
      assertThat(history.size()).isEqualTo(1);
      assertThat(history.get(0).get("user").stringValue()).isEqualTo("What is in <region_fea>?");
      assertThat(history.get(0).get("assistant").stringValue()).isEqualTo(first);
      assertThat(history.get(0).get("regions")).isEqualTo(requests.get(0).get("regions"));
      assertThat(requests.get(1).get("regions").size()).isZero();
      history = requests.get(2).get("history");
      assertThat(history.size()).isEqualTo(2);
      assertThat(history.get(0).get("assistant").stringValue()).isEqualTo(first);
      assertThat(history.get(1).get("user").stringValue()).isEqualTo("Where is the red object?");
      assertThat(history.get(1).get("assistant").stringValue()).isEqualTo(second);
      assertThat(history.get(1).get("regions").size()).isZero();

      // every turn's boxes stay on the image: turn 2's on the red, turn 3's on the blue rectangle
      JsonNode turnBoxes = result.get("turnBoxes");
      assertThat(turnBoxes.size()).as("%s", result).isEqualTo(3);
      assertOn(turnBoxes.get(1).get(0), red, shape, result);
      assertOn(turnBoxes.get(2).get(0), blue, shape, result);
      assertThat(result.get("highlighted").get(0).stringValue()).isEqualTo("2");
      assertThat(screenshot).exists();

      // "New conversation" empties the log; the next question goes without history
      assertThat(result.get("turnsAfterNewConversation").intValue()).isZero();
      assertThat(result.get("boxesAfterNewConversation").size()).isZero();
      assertThat(requests.get(3).get("history").size()).isZero();
      // a refused question (a <region_fea> without a region) shows its error on its own turn
      JsonNode failed = result.get("failedTurn");
      assertThat(failed.get("state").stringValue()).as("%s", failed).isEqualTo("error");
      assertThat(failed.get("errorShown").booleanValue()).isTrue();
      assertThat(failed.get("answer").stringValue()).contains("Error:", "<region_fea>");
      // ... and is left out of the next question's history
      history = requests.get(5).get("history");
      assertThat(history.size()).isEqualTo(1);
      assertThat(history.get(0).get("user").stringValue()).isEqualTo("Where is the red object?");
      assertThat(result.get("followUpAfterFailure").stringValue().toLowerCase(Locale.ROOT))
          .contains("blue");
      assertThat(result.get("turnsBeforeNewImage").intValue()).isEqualTo(3);
      // another image starts a new conversation too
      assertThat(result.get("turnsAfterNewImage").intValue()).isZero();
      // the docs page renders every operation of the OpenAPI document
      assertThat(result.get("docsOperations").valueStream().map(JsonNode::stringValue))
          .as("%s", result)
          .containsExactlyInAnyOrder(
              "GET /v1/models", "POST /v1/chat/completions", "POST /v1/ferret/ask");
      assertThat(requests.get(6).get("history").size()).isZero();
      assertThat(requests.get(6).get("imageChars").intValue())
          .isNotEqualTo(requests.get(5).get("imageChars").intValue());
      // "And the blue one?" means nothing without the earlier where-question
      assertThat(result.get("answerAfterNewImage").stringValue())
          .contains("do not know what \"one\" refers to");
    } finally {
      Files.deleteIfExists(image);
      Files.deleteIfExists(otherImage);
    }
  }

  /** The overlay lies on the rectangle, within one feature cell. */
  private static void assertOn(
      JsonNode box, EndToEndIT.Rect rect, EndToEndIT.Shape shape, JsonNode result) {
    assertThat(box).as("a box overlay was drawn: %s", result).isNotNull();
    Offset<Double> x = Offset.offset(shape.cellWidth() + 2);
    Offset<Double> y = Offset.offset(shape.cellHeight() + 2);
    assertThat((double) box.get(0).intValue()).isCloseTo(rect.x0(), x);
    assertThat((double) box.get(1).intValue()).isCloseTo(rect.y0(), y);
    assertThat((double) box.get(2).intValue()).isCloseTo(rect.x1() - 1, x);
    assertThat((double) box.get(3).intValue()).isCloseTo(rect.y1() - 1, y);
  }
}

package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's web page in headless Chromium (Debian's {@code chromium}, driven by {@code
 * playwright-core} from {@code gateway-service/src/test/web}, installed by {@code .ci/run}) against
 * the whole local stack: it picks an image, draws a box on the blue rectangle and asks what is in
 * it, then asks for the red object with boxes; the streamed answers must name the colours and the
 * box overlay must lie on the red rectangle. The screenshot is saved as {@code
 * target/web-page.png}.
 */
class WebPageIT {

  private static final Path NODE_DIR = Path.of("..", "gateway-service", "src", "test", "web");

  @Test
  void drawsARegionAsksAndShowsTheStreamedAnswerAndItsBox() throws Exception {
    assertThat(NODE_DIR.resolve("node_modules/playwright-core"))
        .as("playwright-core is installed: run npm ci --prefix gateway-service/src/test/web")
        .exists();
    assertThat(Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium")))
        .as("Debian's chromium is installed (apt-get install chromium)")
        .exists();
    EndToEndIT.Shape shape = new EndToEndIT.Shape(1920, 1080, 3, 2);
    Path image = Files.createTempFile("ferret-web", ".png");
    Files.write(image, EndToEndIT.image(shape));
    Path screenshot = Path.of("target", "web-page.png").toAbsolutePath();
    Files.createDirectories(screenshot.getParent());
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
      assertThat(result.get("referringAnswer").stringValue().toLowerCase(Locale.ROOT))
          .contains("blue");
      assertThat(result.get("groundingAnswer").stringValue().toLowerCase(Locale.ROOT))
          .contains("red");
      JsonNode box = result.get("boxes").get(0);
      assertThat(box).as("a box overlay was drawn: %s", result).isNotNull();
      // the overlay lies on the red rectangle, within one feature cell
      double cellW = shape.cellWidth();
      double cellH = shape.cellHeight();
      assertThat((double) box.get(0).intValue())
          .isCloseTo(red.x0(), org.assertj.core.data.Offset.offset(cellW + 2));
      assertThat((double) box.get(1).intValue())
          .isCloseTo(red.y0(), org.assertj.core.data.Offset.offset(cellH + 2));
      assertThat((double) box.get(2).intValue())
          .isCloseTo(red.x1() - 1, org.assertj.core.data.Offset.offset(cellW + 2));
      assertThat((double) box.get(3).intValue())
          .isCloseTo(red.y1() - 1, org.assertj.core.data.Offset.offset(cellH + 2));
      assertThat(screenshot).exists();
    } finally {
      Files.deleteIfExists(image);
    }
  }
}

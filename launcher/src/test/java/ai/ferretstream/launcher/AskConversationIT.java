package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferret ask} holds a conversation with the whole local stack: "And the blue one?" after
 * "Where is the red object?" is answered with the blue box (the dev LLM understands it only through
 * the history the command sends), asked with {@code -q} twice and line by line from stdin; without
 * the first question it is not understood.
 */
class AskConversationIT {

  private static final EndToEndIT.Shape SHAPE = new EndToEndIT.Shape(1920, 1080, 3, 2);
  private static final Pattern PIXEL_BOX =
      Pattern.compile("  (\\w+ object): \\((\\d+), (\\d+), (\\d+), (\\d+)\\)");

  private static LocalStack stack;
  @TempDir static Path dir;
  private static Path image;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeAll
  static void start() throws Exception {
    image = dir.resolve("red-and-blue.png");
    Files.write(image, EndToEndIT.image(SHAPE));
    stack = LocalStack.builder().gatewayPort(0).kafkaPort(0).grpcPort(0).start();
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private int ask(String stdin, String... args) {
    FerretCli cli =
        new FerretCli(
            new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    String[] all = new String[args.length + 5];
    all[0] = "ask";
    all[1] = "--url";
    all[2] = stack.gatewayUrl();
    all[3] = "--image";
    all[4] = image.toString();
    System.arraycopy(args, 0, all, 5, args.length);
    return cli.run(all);
  }

  private String output() {
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The answer's box for "phrase" lies on the rectangle, within one feature cell. */
  private void assertBoxOn(String phrase, EndToEndIT.Rect rect) {
    Matcher m = PIXEL_BOX.matcher(output());
    boolean found = false;
    while (m.find()) {
      if (!m.group(1).equals(phrase)) {
        continue;
      }
      found = true;
      double cw = SHAPE.cellWidth() + 2;
      double ch = SHAPE.cellHeight() + 2;
      assertThat(Math.abs(Integer.parseInt(m.group(2)) - rect.x0())).isLessThanOrEqualTo((int) cw);
      assertThat(Math.abs(Integer.parseInt(m.group(3)) - rect.y0())).isLessThanOrEqualTo((int) ch);
      assertThat(Math.abs(Integer.parseInt(m.group(4)) - (rect.x1() - 1)))
          .isLessThanOrEqualTo((int) cw);
      assertThat(Math.abs(Integer.parseInt(m.group(5)) - (rect.y1() - 1)))
          .isLessThanOrEqualTo((int) ch);
    }
    assertThat(found).as("a box for %s in:%n%s%s", phrase, output(), err).isTrue();
  }

  @Test
  void followUpsFromTheCommandLineAreAnsweredThroughTheHistory() {
    int status = ask("", "-q", "Where is the red object?", "-q", "And the blue one?");

    assertThat(status).as("%s%s", output(), err).isZero();
    assertThat(output())
        .contains("> Where is the red object?\nThe red object is at")
        .contains("> And the blue one?\nThe blue object is at");
    assertBoxOn("red object", SHAPE.red());
    assertBoxOn("blue object", SHAPE.blue());
  }

  @Test
  void followUpsFromStdinAreAnsweredThroughTheHistory() {
    int status = ask("Where is the red object?\nAnd the blue one?\n\n");

    assertThat(status).as("%s%s", output(), err).isZero();
    assertThat(output()).contains("> And the blue one?\nThe blue object is at");
    assertBoxOn("blue object", SHAPE.blue());
  }

  @Test
  void aFollowUpAloneIsNotUnderstood() {
    assertThat(ask("", "And the blue one?")).isZero();
    assertThat(output()).contains("do not know what \"one\" refers to");
  }
}

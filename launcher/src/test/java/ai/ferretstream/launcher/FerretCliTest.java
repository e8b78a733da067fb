package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FerretCliTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final FerretCli cli =
      new FerretCli(
          new ByteArrayInputStream(new byte[0]),
          new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8));

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpPrintsTheUsageAndSucceeds() {
    assertThat(cli.run(new String[] {"help"})).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("ferret <command>", "up", "ask");
  }

  @Test
  void noCommandOrAnUnknownOneIsAUsageError() {
    assertThat(cli.run(new String[] {})).isEqualTo(2);
    assertThat(cli.run(new String[] {"fly"})).isEqualTo(2);
    assertThat(err()).contains("unknown command 'fly'", "usage:");
  }

  @Test
  void askNeedsAnImageAndItsQuestionsInOneForm() {
    assertThat(cli.run(new String[] {"ask", "what?"})).isEqualTo(2);
    assertThat(err()).contains("ask needs --image FILE");
    assertThat(cli.run(new String[] {"ask", "--image", "a.png", "where", "is", "it"})).isEqualTo(2);
    assertThat(err()).contains("one question as an argument (quote it), or several with -q");
    assertThat(cli.run(new String[] {"ask", "--image", "a.png", "-q", "where?", "what?"}))
        .isEqualTo(2);
    assertThat(err()).contains("either as one argument or as -q options, not both");
    assertThat(cli.run(new String[] {"ask", "--image", "a.png", "-q", "where?", "-q", " "}))
        .isEqualTo(2);
    assertThat(err()).contains("a question is empty");
  }

  @Test
  void askWithoutAQuestionReadsThemFromStdin(@org.junit.jupiter.api.io.TempDir Path dir)
      throws java.io.IOException {
    Path image = dir.resolve("a.png");
    java.nio.file.Files.write(image, new byte[] {1});
    // stdin is empty here: no question at all
    assertThat(cli.run(new String[] {"ask", "--image", image.toString()})).isEqualTo(2);
    assertThat(err()).contains("no question: give one as an argument, with -q, or one per line");
  }

  @Test
  void askRefusesAnUnreadableImageAndNonHttpUrls() {
    assertThat(cli.run(new String[] {"ask", "--image", "/nonexistent/a.png", "q"})).isEqualTo(2);
    assertThat(err()).contains("cannot read the image");
    assertThat(cli.run(new String[] {"ask", "--image", "a.png", "--url", "ftp://x", "q"}))
        .isEqualTo(2);
    assertThat(err()).contains("http(s) URL");
  }

  @Test
  void upRejectsBadPortsAndUnknownOptions() {
    assertThat(cli.run(new String[] {"up", "--port", "70000"})).isEqualTo(2);
    assertThat(err()).contains("--port must be a port number");
    assertThat(cli.run(new String[] {"up", "--colour", "red"})).isEqualTo(2);
    assertThat(err()).contains("unknown option --colour");
  }

  @Test
  void parsesValuedOptionsFlagsAndPositionals() {
    CliArgs args =
        CliArgs.parse(
            List.of("--image", "a.png", "--url=http://h:1", "--no-stream", "Where is it?"),
            Set.of("image", "url"),
            Set.of("no-stream"));

    assertThat(args.get("image", null)).isEqualTo("a.png");
    assertThat(args.get("url", null)).isEqualTo("http://h:1");
    assertThat(args.flag("no-stream")).isTrue();
    assertThat(args.flag("other")).isFalse();
    assertThat(args.positional()).containsExactly("Where is it?");
    assertThatThrownBy(() -> CliArgs.parse(List.of("--image"), Set.of("image"), Set.of()))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("needs a value");
  }

  @Test
  void keepsEveryValueOfARepeatedOptionInOrderAndReadsShortNames() {
    CliArgs args =
        CliArgs.parse(
            List.of("-q", "Where is the red object?", "--question=And the blue one?", "-i", "-x"),
            Set.of("question"),
            Set.of("interactive"),
            java.util.Map.of("-q", "question", "-i", "interactive"));

    assertThat(args.all("question"))
        .containsExactly("Where is the red object?", "And the blue one?");
    assertThat(args.get("question", null)).isEqualTo("And the blue one?");
    assertThat(args.all("other")).isEmpty();
    assertThat(args.flag("interactive")).isTrue();
    assertThat(args.positional()).containsExactly("-x");
  }

  @Test
  void picksTheMediaTypeFromTheExtension() {
    assertThat(AskCommand.mediaType(Path.of("a.PNG"))).isEqualTo("image/png");
    assertThat(AskCommand.mediaType(Path.of("dir/b.jpeg"))).isEqualTo("image/jpeg");
    assertThat(AskCommand.mediaType(Path.of("c.jpg"))).isEqualTo("image/jpeg");
    assertThat(AskCommand.mediaType(Path.of("d.webp"))).isEqualTo("image/webp");
    assertThatThrownBy(() -> AskCommand.mediaType(Path.of("notes.txt")))
        .isInstanceOf(UsageException.class);
  }

  @Test
  void tileWritesTheGridTheGlobalViewAndEveryTile(@org.junit.jupiter.api.io.TempDir Path dir)
      throws java.io.IOException {
    Path image = Path.of("../docs/examples/red-and-blue.png");

    assertThat(cli.run(new String[] {"tile", image.toString(), dir.toString(), "--mode", "pad"}))
        .isZero();

    // 960x640 -> 3x2 (1008x672); pad keeps 3:2, so the content is 1008x672 at (0, 0)
    String grid = java.nio.file.Files.readString(dir.resolve("grid.json"));
    assertThat(grid).contains("\"width\": 960", "\"cols\": 3", "\"rows\": 2", "\"mode\": \"pad\"");
    assertThat(dir.resolve("global.png")).exists();
    for (int k = 0; k < 6; k++) {
      assertThat(dir.resolve("tile-" + k + ".png")).exists();
    }
    assertThat(dir.resolve("tile-6.png")).doesNotExist();
  }

  @Test
  void tileReportsARefusedImageWithItsReason(@org.junit.jupiter.api.io.TempDir Path dir)
      throws java.io.IOException {
    Path text = dir.resolve("notes.png");
    java.nio.file.Files.writeString(text, "not an image");

    assertThat(cli.run(new String[] {"tile", text.toString(), dir.resolve("out").toString()}))
        .isEqualTo(3);
    assertThat(err()).contains("invalid_image", "unsupported_format");
    assertThat(cli.run(new String[] {"tile", "--mode", "zoom", "a.png", "out"})).isEqualTo(2);
  }
}

package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.examples.kafka.KafkaAsk;
import ai.ferretstream.proto.v1.CoordinateSpace;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferret kafka}'s arguments: what they ask and the usage errors (no broker). */
class KafkaCommandTest {

  @TempDir Path dir;
  private Path image;

  @BeforeEach
  void image() throws Exception {
    image = dir.resolve("photo.png");
    Files.write(image, new byte[] {7, 8});
  }

  @Test
  void askTakesTheImageQuestionRegionsAndWhereToAnswer() {
    KafkaCommand.AskOptions options =
        KafkaCommand.parseAsk(
            List.of(
                "--bootstrap",
                "broker:19092",
                "--image",
                image.toString(),
                "--region",
                "10,20,30,40",
                "--region=[1, 2, 3, 4]",
                "--reply-partition",
                "3",
                "--timeout",
                "20",
                "--model",
                "ferret-v2-dev",
                "--max-tokens",
                "32",
                "--grounding",
                "--request-id",
                "my-id",
                "--cancel-after",
                "2",
                "What is in <region_fea> and <region_fea>?"));

    assertThat(options.bootstrap()).isEqualTo("broker:19092");
    assertThat(options.requestId()).isEqualTo("my-id");
    assertThat(options.cancelAfterDeltas()).isEqualTo(2);
    KafkaAsk.Question question = options.question();
    assertThat(question.prompt()).isEqualTo("What is in <region_fea> and <region_fea>?");
    assertThat(question.image()).containsExactly(7, 8);
    assertThat(question.mediaType()).isEqualTo("image/png");
    assertThat(question.regions()).hasSize(2);
    assertThat(question.regions().get(0).getSpace())
        .isEqualTo(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999);
    assertThat(question.regions().get(1).getBox().getX2()).isEqualTo(3);
    assertThat(question.replyPartition()).isEqualTo(3);
    assertThat(question.timeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(question.model()).isEqualTo("ferret-v2-dev");
    assertThat(question.maxTokens()).isEqualTo(32);
    assertThat(question.grounding()).isTrue();
  }

  @Test
  void askDefaultsToTheLocalBrokerAnswersByKeyAFreshIdAndNoCancel() {
    KafkaCommand.AskOptions options =
        KafkaCommand.parseAsk(List.of("--image", image.toString(), "What is this?"));

    assertThat(options.bootstrap()).isEqualTo("localhost:9092");
    assertThat(options.requestId()).startsWith("kafka-");
    assertThat(options.cancelAfterDeltas()).isEqualTo(-1);
    assertThat(options.question().replyPartition()).isEqualTo(-1);
    assertThat(options.question().timeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(options.question().regions()).isEmpty();
    assertThat(options.question().grounding()).isFalse();
  }

  @Test
  void askRefusesWhatItCannotSend() {
    String img = image.toString();
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("What?")))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("kafka ask needs --image FILE");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", img)))
        .hasMessageContaining("one question as an argument");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", img, "a", "b")))
        .hasMessageContaining("one question as an argument (quote it), got [a, b]");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", "/nonexistent.png", "q")))
        .hasMessageContaining("cannot read the image /nonexistent.png");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", img, "--region", "1,2", "q")))
        .hasMessageContaining("--region: a region is x1,y1,x2,y2 on the 0..999 grid");
    assertThatThrownBy(
            () -> KafkaCommand.parseAsk(List.of("--image", img, "--reply-partition", "-2", "q")))
        .hasMessageContaining("--reply-partition must be a whole number of at least -1, was -2");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", img, "--timeout", "0", "q")))
        .hasMessageContaining("--timeout must be a whole number of at least 1, was 0");
    assertThatThrownBy(() -> KafkaCommand.parseAsk(List.of("--image", img, "--colour", "q")))
        .hasMessageContaining("unknown option --colour");
  }

  @Test
  void cancelNeedsTheRequestId() {
    KafkaCommand.CancelOptions options =
        KafkaCommand.parseCancel(List.of("--request-id", "r-1", "--reason", "gone"));
    assertThat(options.requestId()).isEqualTo("r-1");
    assertThat(options.reason()).isEqualTo("gone");
    assertThat(options.bootstrap()).isEqualTo("localhost:9092");

    assertThatThrownBy(() -> KafkaCommand.parseCancel(List.of()))
        .hasMessageContaining("kafka cancel needs --request-id ID");
    assertThatThrownBy(() -> KafkaCommand.parseCancel(List.of("--request-id", "r", "x")))
        .hasMessageContaining("kafka cancel takes no arguments");
  }

  @Test
  void theCliPrintsTheUsageOnAKafkaUsageError() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    FerretCli cli =
        new FerretCli(
            new ByteArrayInputStream(new byte[0]),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(cli.run(new String[] {"kafka"})).isEqualTo(2);
    assertThat(cli.run(new String[] {"kafka", "produce"})).isEqualTo(2);
    assertThat(cli.run(new String[] {"kafka", "cancel"})).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains(
            "kafka needs a sub-command: ask or cancel",
            "unknown kafka sub-command 'produce'",
            "kafka cancel needs --request-id ID",
            "kafka ask --image FILE");
  }
}

package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.examples.kafka.KafkaAsk;
import ai.ferretstream.examples.kafka.KafkaAsk.Answer;
import ai.ferretstream.examples.kafka.KafkaAsk.Outcome;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.ReplyTo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka example client (examples/kafka-client, docs/kafka-api.md) against the whole local stack
 * (dev models): a plain question and a region question get the dev LLM's answers streamed and ended
 * by a done event, a cancel after the first delta ends the answer with finish_reason "cancelled",
 * and bad requests get the error event with the code the pipeline documents. Then {@code ferret
 * kafka ask} and {@code ferret kafka cancel} do the same from the command line. The dev LLM is
 * paced at 100 ms a piece here, so that a cancel reaches it mid-answer.
 */
class KafkaExampleIT {

  private static final EndToEndIT.Shape SHAPE = new EndToEndIT.Shape(960, 640, 3, 2);

  /** What the dev LLM answers about the image to a question it does not know. */
  private static final String DESCRIPTION =
      "This is the Ferret Stream dev model. The image shows white, red and blue.";

  @TempDir static Path dir;
  private static LocalStack stack;
  private static KafkaAsk kafka;
  private static Path image;

  @BeforeAll
  static void start() throws IOException {
    image = dir.resolve("red-and-blue.png");
    Files.write(image, EndToEndIT.image(SHAPE));
    stack =
        LocalStack.builder()
            .gatewayPort(0)
            .kafkaPort(0)
            .grpcPort(0)
            .modelRepository(pacedModels(dir.resolve("models")))
            .start();
    kafka = new KafkaAsk(stack.bootstrapServers());
  }

  @AfterAll
  static void stop() {
    if (kafka != null) {
      kafka.close();
    }
    if (stack != null) {
      stack.close();
    }
  }

  /** A copy of the dev models whose LLM streams one piece every 100 ms. */
  private static Path pacedModels(Path target) throws IOException {
    Path source = LocalStack.findDevModelRepository();
    try (Stream<Path> files = Files.walk(source)) {
      for (Path file : files.toList()) {
        Path copy = target.resolve(source.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(copy);
        } else {
          Files.copy(file, copy);
        }
      }
    }
    Path config = target.resolve("ferret_llm/config.pbtxt");
    String original = Files.readString(config);
    String paced =
        original.replaceFirst(
            "(key: \"token_interval_ms\"\\s*value: \\{ string_value: )\"0\"", "$1\"100\"");
    assertThat(paced).isNotEqualTo(original);
    Files.writeString(config, paced);
    return target;
  }

  private static KafkaAsk.Question question(String prompt) throws IOException {
    return KafkaAsk.question(image, prompt);
  }

  @Test
  void aQuestionIsAnsweredWithTheDevModelsTextStreamedInOrderThenDone() throws IOException {
    Answer answer =
        kafka.ask(KafkaAsk.request(question("What is in this image?")), event -> {}, -1);

    assertThat(answer.outcome()).as(answer.events().toString()).isEqualTo(Outcome.DONE);
    assertThat(answer.text()).isEqualTo(DESCRIPTION);
    List<AnswerEvent> events = answer.events();
    // several deltas, numbered from 0 in the order they came, the done event last
    assertThat(events.stream().filter(AnswerEvent::hasDelta).count()).isGreaterThan(1);
    for (int i = 0; i < events.size(); i++) {
      assertThat(events.get(i).getSeq()).isEqualTo(i);
      assertThat(events.get(i).getRequestId()).isEqualTo(answer.requestId());
    }
    AnswerEvent last = events.get(events.size() - 1);
    assertThat(last.hasDone()).isTrue();
    assertThat(last.getDone().getFinishReason()).isEqualTo("stop");
    assertThat(last.getDone().getUsage().getCompletionTokens()).isPositive();
    assertThat(last.getDone().getTimingsMap()).containsKeys("tiler.received", "llm.done");
    // -1: by key, read from the key's partition only
    assertThat(answer.partitions()).hasSize(1);
  }

  @Test
  void aRegionQuestionOnAChosenReplyPartitionNamesTheRegionsColour() throws IOException {
    EndToEndIT.Rect blue = SHAPE.blue();
    String box =
        (blue.x0() * 1000 / SHAPE.width() + 5)
            + ","
            + (blue.y0() * 1000 / SHAPE.height() + 5)
            + ","
            + ((blue.x1() - 1) * 1000 / SHAPE.width() - 5)
            + ","
            + ((blue.y1() - 1) * 1000 / SHAPE.height() - 5);

    Answer answer =
        kafka.ask(
            KafkaAsk.request(
                question("What is in <region_fea>?")
                    .withRegion(KafkaAsk.region(box))
                    .withReplyPartition(2)),
            event -> {},
            -1);

    assertThat(answer.outcome()).as(answer.events().toString()).isEqualTo(Outcome.DONE);
    assertThat(answer.text()).isEqualTo("It is blue.");
    assertThat(answer.partitions()).contains(2);
  }

  @Test
  void aCancelAfterTheFirstDeltaEndsTheAnswerWithFinishReasonCancelled() throws IOException {
    Answer answer = kafka.ask(KafkaAsk.request(question("What is in this image?")), event -> {}, 1);

    assertThat(answer.outcome()).as(answer.events().toString()).isEqualTo(Outcome.CANCELLED);
    assertThat(answer.done().orElseThrow().getFinishReason()).isEqualTo("cancelled");
    // cut short: a part of the full answer
    assertThat(answer.text()).isNotEmpty().isNotEqualTo(DESCRIPTION);
    assertThat(DESCRIPTION).startsWith(answer.text());
  }

  @Test
  void bytesThatAreNoImageGetInvalidImageFromTheTiler() {
    Answer answer =
        kafka.ask(
            KafkaAsk.request(
                new KafkaAsk.Question(
                    "not an image".getBytes(StandardCharsets.UTF_8),
                    "image/png",
                    "What is this?",
                    List.of(),
                    Duration.ofSeconds(60),
                    0,
                    "",
                    0,
                    false)),
            event -> {},
            -1);

    assertThat(answer.outcome()).isEqualTo(Outcome.ERROR);
    ai.ferretstream.proto.v1.Error error = answer.error().orElseThrow();
    assertThat(error.getCode()).isEqualTo("invalid_image");
    assertThat(error.getStage()).isEqualTo("tiler-service");
    assertThat(error.getRetryable()).isFalse();
    assertThat(answer.events()).hasSize(1);
    assertThat(answer.events().get(0).getSeq()).isEqualTo(-1);
  }

  @Test
  void aReplyPartitionTheAnswersTopicLacksGetsInvalidReplyToByKey() throws IOException {
    Answer answer =
        kafka.ask(
            KafkaAsk.request(question("What is this?").withReplyPartition(99)), event -> {}, -1);

    assertThat(answer.outcome()).isEqualTo(Outcome.ERROR);
    assertThat(answer.error().orElseThrow().getCode()).isEqualTo("invalid_reply_to");
    assertThat(answer.error().orElseThrow().getMessage())
        .contains("reply_to.partition 99 is not a partition of ferret.answers (0..3, or -1");
    assertThat(answer.partitions()).hasSize(1); // the key's: 99 does not exist
  }

  @Test
  void aReplyTopicOtherThanTheAnswersTopicGetsInvalidReplyTo() throws IOException {
    AskRequest request = KafkaAsk.request(question("What is this?").withReplyPartition(1));
    AskRequest elsewhere =
        request.toBuilder()
            .setContext(
                request.getContext().toBuilder()
                    .setReplyTo(ReplyTo.newBuilder().setTopic("ferret.fused").setPartition(1)))
            .build();

    Answer answer = kafka.ask(elsewhere, event -> {}, -1);

    assertThat(answer.outcome()).isEqualTo(Outcome.ERROR);
    assertThat(answer.error().orElseThrow().getCode()).isEqualTo("invalid_reply_to");
    assertThat(answer.error().orElseThrow().getMessage())
        .contains("reply_to.topic 'ferret.fused' is not the answers topic 'ferret.answers'");
  }

  @Test
  void aDeadlineAlreadyPassedGetsDeadlineExceeded() throws IOException {
    Answer answer =
        kafka.ask(
            KafkaAsk.request(question("What is this?").withTimeout(Duration.ofSeconds(-1))),
            event -> {},
            -1);

    assertThat(answer.outcome()).isEqualTo(Outcome.ERROR);
    assertThat(answer.error().orElseThrow().getCode()).isEqualTo("deadline_exceeded");
    assertThat(answer.error().orElseThrow().getStage()).isEqualTo("tiler-service");
  }

  @Test
  void aRequestWithoutADeadlineIsAnswered() throws IOException {
    AskRequest request = KafkaAsk.request(question("What is in this image?"));
    AskRequest noDeadline =
        request.toBuilder()
            .setContext(request.getContext().toBuilder().clearDeadlineUnixMs())
            .build();

    Answer answer = kafka.ask(noDeadline, event -> {}, -1);

    assertThat(answer.outcome()).as(answer.events().toString()).isEqualTo(Outcome.DONE);
    assertThat(answer.text()).isEqualTo(DESCRIPTION);
  }

  @Test
  void moreRegionMarkersThanRegionsGetInvalidRegionFromTheLlm() throws IOException {
    Answer answer =
        kafka.ask(KafkaAsk.request(question("What is in <region_fea>?")), event -> {}, -1);

    assertThat(answer.outcome()).as(answer.events().toString()).isEqualTo(Outcome.ERROR);
    ai.ferretstream.proto.v1.Error error = answer.error().orElseThrow();
    assertThat(error.getCode()).isEqualTo("invalid_region");
    assertThat(error.getStage()).isEqualTo("llm-service");
    assertThat(error.getMessage())
        .contains("the question has 1 <region_fea> placeholders but 0 regions");
    assertThat(error.getRetryable()).isFalse();
  }

  // ------------------------------------------------------------------------------------------
  // ./ferret kafka

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int ferret(String... args) {
    return new FerretCli(
            new ByteArrayInputStream(new byte[0]),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8))
        .run(args);
  }

  @Test
  void ferretKafkaAskPrintsEachEventAsAJsonLine() {
    int status =
        ferret(
            "kafka",
            "ask",
            "--bootstrap",
            stack.bootstrapServers(),
            "--image",
            image.toString(),
            "--request-id",
            "cli-1",
            "--reply-partition",
            "1",
            "What is in this image?");

    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines.get(0))
        .startsWith("{\"requestId\":\"cli-1\",\"seq\":\"0\",")
        .contains("delta");
    assertThat(lines.get(lines.size() - 1))
        .contains("\"seq\":\"" + (lines.size() - 1) + "\"", "\"done\":{\"finishReason\":\"stop\"");
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("request cli-1 -> ferret.requests");
  }

  @Test
  void ferretKafkaAskExitsWith1OnAnErrorEventAndCancelPublishes() throws IOException {
    Path text = dir.resolve("notes.png");
    Files.writeString(text, "not an image");

    int status =
        ferret(
            "kafka",
            "ask",
            "--bootstrap",
            stack.bootstrapServers(),
            "--image",
            text.toString(),
            "What is this?");

    assertThat(status).isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("\"error\":{\"code\":\"invalid_image\"", "\"stage\":\"tiler-service\"");

    assertThat(
            ferret(
                "kafka",
                "cancel",
                "--bootstrap",
                stack.bootstrapServers(),
                "--request-id",
                "cli-2"))
        .isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("cancel of cli-2 -> ferret.control");
  }
}

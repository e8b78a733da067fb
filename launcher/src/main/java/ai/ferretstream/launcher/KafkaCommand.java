package ai.ferretstream.launcher;

import ai.ferretstream.examples.kafka.KafkaAsk;
import ai.ferretstream.examples.kafka.ProtobufJsonFormatter;
import ai.ferretstream.proto.v1.AskRequest;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code ferret kafka}: the Kafka API from the command line, with the example client
 * (examples/kafka-client, docs/kafka-api.md). {@code ask} publishes an {@code AskRequest} to {@code
 * ferret.requests} and prints each of its answer events from {@code ferret.answers} as a JSON line
 * (protobuf's JSON mapping) until the {@code done} or {@code error} event; {@code cancel} publishes
 * a {@code Cancel} to {@code ferret.control}.
 */
final class KafkaCommand {

  /** What {@code kafka ask} asks, and where. */
  record AskOptions(
      String bootstrap, String requestId, KafkaAsk.Question question, int cancelAfterDeltas) {}

  /** What {@code kafka cancel} cancels, and where. */
  record CancelOptions(String bootstrap, String requestId, String reason) {}

  static final String DEFAULT_BOOTSTRAP = "localhost:9092";

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, KafkaAsk> clients;

  /**
   * @param clients opens a client on a bootstrap address
   */
  KafkaCommand(PrintStream out, PrintStream err, Function<String, KafkaAsk> clients) {
    this.out = out;
    this.err = err;
    this.clients = clients;
  }

  /** Runs {@code kafka <sub-command> ...}; returns the exit status. */
  int run(List<String> args) {
    if (args.isEmpty()) {
      throw new UsageException("kafka needs a sub-command: ask or cancel");
    }
    List<String> rest = args.subList(1, args.size());
    return switch (args.get(0)) {
      case "ask" -> ask(parseAsk(rest));
      case "cancel" -> cancel(parseCancel(rest));
      default -> throw new UsageException("unknown kafka sub-command '" + args.get(0) + "'");
    };
  }

  static AskOptions parseAsk(List<String> args) {
    CliArgs options =
        CliArgs.parse(
            args,
            Set.of(
                "bootstrap",
                "image",
                "region",
                "reply-partition",
                "timeout",
                "model",
                "max-tokens",
                "request-id",
                "cancel-after"),
            Set.of("grounding"));
    String image = options.get("image", null);
    if (image == null) {
      throw new UsageException("kafka ask needs --image FILE");
    }
    if (options.positional().size() != 1 || options.positional().get(0).isBlank()) {
      throw new UsageException(
          "kafka ask takes one question as an argument (quote it), got " + options.positional());
    }
    KafkaAsk.Question question;
    try {
      question = KafkaAsk.question(Path.of(image), options.positional().get(0));
    } catch (IOException e) {
      throw new UsageException("cannot read the image " + image + ": " + e.getMessage());
    }
    for (String region : options.all("region")) {
      try {
        question = question.withRegion(KafkaAsk.region(region));
      } catch (IllegalArgumentException e) {
        throw new UsageException("--region: " + e.getMessage());
      }
    }
    question =
        question
            .withReplyPartition(integer(options, "reply-partition", -1, -1))
            .withTimeout(Duration.ofSeconds(integer(options, "timeout", 60, 1)))
            .withModel(options.get("model", ""))
            .withMaxTokens(integer(options, "max-tokens", 0, 0))
            .withGrounding(options.flag("grounding"));
    return new AskOptions(
        options.get("bootstrap", DEFAULT_BOOTSTRAP),
        options.get("request-id", KafkaAsk.newRequestId()),
        question,
        integer(options, "cancel-after", -1, -1));
  }

  static CancelOptions parseCancel(List<String> args) {
    CliArgs options = CliArgs.parse(args, Set.of("bootstrap", "request-id", "reason"), Set.of());
    if (!options.positional().isEmpty()) {
      throw new UsageException("kafka cancel takes no arguments, got " + options.positional());
    }
    String id = options.get("request-id", null);
    if (id == null || id.isBlank()) {
      throw new UsageException("kafka cancel needs --request-id ID");
    }
    return new CancelOptions(
        options.get("bootstrap", DEFAULT_BOOTSTRAP),
        id,
        options.get("reason", "cancelled with ferret kafka cancel"));
  }

  /** A whole-number option of at least {@code min}. */
  private static int integer(CliArgs options, String name, int fallback, int min) {
    String value = options.get(name, null);
    if (value == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < min) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException(
          "--" + name + " must be a whole number of at least " + min + ", was " + value);
    }
  }

  private int ask(AskOptions options) {
    AskRequest request =
        KafkaAsk.request(options.question(), options.requestId(), System.currentTimeMillis());
    try (KafkaAsk kafka = clients.apply(options.bootstrap())) {
      err.println("request " + options.requestId() + " -> ferret.requests");
      KafkaAsk.Answer answer =
          kafka.ask(
              request,
              event -> {
                out.println(ProtobufJsonFormatter.json(event));
                out.flush();
              },
              options.cancelAfterDeltas());
      return switch (answer.outcome()) {
        case DONE, CANCELLED -> 0;
        case DROPPED_AFTER_CANCEL -> {
          err.println("cancelled before the llm answered: no further event");
          yield 0;
        }
        case ERROR -> 1;
        case TIMED_OUT -> {
          err.println("no done or error event for " + options.requestId() + " before its deadline");
          yield 1;
        }
      };
    } catch (KafkaAsk.KafkaAskException e) {
      err.println("ferret: " + e.getMessage());
      return 1;
    }
  }

  private int cancel(CancelOptions options) {
    try (KafkaAsk kafka = clients.apply(options.bootstrap())) {
      kafka.cancel(options.requestId(), options.reason());
      err.println("cancel of " + options.requestId() + " -> ferret.control");
      return 0;
    } catch (KafkaAsk.KafkaAskException e) {
      err.println("ferret: " + e.getMessage());
      return 1;
    }
  }
}

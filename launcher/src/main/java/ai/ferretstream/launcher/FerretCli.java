package ai.ferretstream.launcher;

import ai.ferretstream.examples.kafka.KafkaAsk;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code ./ferret} command line: {@code up} runs the whole stack locally, {@code ask} asks it
 * questions about an image in one conversation, {@code kafka} asks and cancels over Kafka.
 */
public final class FerretCli {

  static final String USAGE =
      """
      usage: ferret <command> [options]

        up   [--port N] [--kafka-port N] [--grpc-port N] [--model-repository DIR] [--partitions N]
             [--no-shared-memory] [--no-shared-features] [--no-shared-tiles] [--no-feature-cache]
             Runs the whole stack in one process: a Kafka (KRaft) broker, the inference server
             with the dev models, and the tiler, encoders, fusion, llm and gateway services.
             Defaults: gateway 8080, Kafka 9092, gRPC 8001, inference-server/model-repository.
             The encoders', fusion's and the llm's tensors reach the inference server through
             shared memory (Triton's system shared-memory extension), and the encoders' feature
             maps reach fusion and the llm, and the tiler's tiles the encoders, through a
             shared-memory store instead of Kafka (only small records cross the broker).
             --no-shared-tiles publishes the tiles to Kafka; --no-shared-features the maps and
             the tiles; --no-shared-memory turns all of it off. Images asked about again take
             their features from the feature cache in that store (no tiling, no encoding);
             --no-feature-cache turns it off. Stops on Ctrl-C / SIGTERM.

        ask  --image FILE [--url http://localhost:8080] [--no-stream] [--no-grounding]
             [--max-tokens N] [--model NAME] [--api-key KEY]
             ["question" | -q "question" [-q "follow-up"]...] [-i|--interactive]
             Asks questions about an image in one conversation; prints each answer as it
             streams in, then its boxes in pixel coordinates. Each follow-up is sent with the
             earlier questions and answers as history (the image is sent with the first).
             Questions: one argument, or -q/--question once per question (asked in order).
             With --interactive, or when no question is given, further questions are read
             from stdin, one per line, until its end, an empty line or "exit". Refer to
             regions as [x1, y1, x2, y2] <region_fea> (0..999 grid). The API key (gateways
             with keys on) is --api-key or the environment variable FERRET_API_KEY.
             Exit status 1 when a question fails (its error is printed; the questions after
             it are not asked, except in interactive mode, which leaves the failed question
             out of the conversation and reads on), 2 on a usage error or no question.

        kafka ask --image FILE [--bootstrap localhost:9092] [--region x1,y1,x2,y2]...
             [--reply-partition N] [--timeout SECONDS] [--model NAME] [--max-tokens N]
             [--grounding] [--request-id ID] [--cancel-after N] "question"
             Asks over Kafka, without the gateway: publishes an AskRequest to ferret.requests
             and prints each of its answer events from ferret.answers as a JSON line until the
             done or error event. --region: a box on the 0..999 grid for each <region_fea> of
             the question, in order. --reply-partition: the ferret.answers partition to answer
             on (-1, the default: by key). --timeout: the request's deadline (60 s).
             --cancel-after N: cancel it over ferret.control after N text deltas (0: at once).
             Exit status 1 on an error event or no answer before the deadline, 2 on a usage
             error. See docs/kafka-api.md.

        kafka cancel --request-id ID [--bootstrap localhost:9092] [--reason TEXT]
             Publishes a Cancel of the request to ferret.control.

        tile IMAGE OUTDIR [--mode stretch|pad]
             Tiles an image exactly as the tiler service does and writes OUTDIR/grid.json,
             OUTDIR/global.png and OUTDIR/tile-<index>.png. Exit status 3 when the image is
             refused (the reason is printed).

        help Prints this text.
      """;

  static final String DEV_MODELS_NOTE =
      "dev models – deterministic stand-ins, not the real Ferret-v2";

  private final InputStream in;
  private final PrintStream out;
  private final PrintStream err;

  /**
   * @param in where {@code ask} reads questions in interactive mode
   */
  FerretCli(InputStream in, PrintStream out, PrintStream err) {
    this.in = in;
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    FerretCli cli = new FerretCli(System.in, System.out, System.err);
    int status = cli.run(args);
    if (status != Integer.MIN_VALUE) {
      System.exit(status);
    }
  }

  /**
   * Runs a command.
   *
   * @return the exit status, or {@link Integer#MIN_VALUE} after {@code up} was stopped by a signal
   */
  int run(String[] args) {
    if (args.length == 0) {
      err.print(USAGE);
      return 2;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    try {
      switch (args[0]) {
        case "up" -> {
          up(rest);
          return Integer.MIN_VALUE;
        }
        case "ask" -> {
          return ask(rest);
        }
        case "kafka" -> {
          return new KafkaCommand(out, err, KafkaAsk::new).run(rest);
        }
        case "tile" -> {
          return ai.ferretstream.tiler.cli.TileCommand.run(rest.toArray(String[]::new), out, err);
        }
        case "help", "--help", "-h" -> {
          out.print(USAGE);
          return 0;
        }
        default -> throw new UsageException("unknown command '" + args[0] + "'");
      }
    } catch (UsageException e) {
      err.println("ferret: " + e.getMessage());
      err.println();
      err.print(USAGE);
      return 2;
    } catch (IOException | RuntimeException e) {
      err.println("ferret: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("ferret: interrupted");
      return 1;
    }
  }

  private void up(List<String> args) throws InterruptedException {
    CliArgs options =
        CliArgs.parse(
            args,
            Set.of("port", "kafka-port", "grpc-port", "model-repository", "partitions"),
            Set.of(
                "no-shared-memory", "no-shared-features", "no-shared-tiles", "no-feature-cache"));
    if (!options.positional().isEmpty()) {
      throw new UsageException("up takes no arguments, got " + options.positional());
    }
    LocalStack.Builder builder =
        LocalStack.builder()
            .gatewayPort(options.port("port", 8080))
            .kafkaPort(options.port("kafka-port", 9092))
            .grpcPort(options.port("grpc-port", 8001))
            .partitions(options.positiveInt("partitions", 4))
            .sharedMemory(!options.flag("no-shared-memory"))
            .sharedFeatures(
                !options.flag("no-shared-memory") && !options.flag("no-shared-features"))
            .sharedTiles(!options.flag("no-shared-tiles"))
            .featureCache(!options.flag("no-feature-cache"));
    String repo = options.get("model-repository", null);
    if (repo != null) {
      builder.modelRepository(Path.of(repo));
    }
    LocalStack stack = builder.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  out.println("Ferret Stream is stopping ...");
                  // Kafka's test kit deletes the broker's temporary log directory from its own
                  // shutdown hook, which runs at the same time as this one: the broker's
                  // complaints about its vanished files are expected noise now
                  LoggingSystem logging = LoggingSystem.get(FerretCli.class.getClassLoader());
                  logging.setLogLevel("kafka", LogLevel.OFF);
                  logging.setLogLevel("org.apache.kafka", LogLevel.OFF);
                  logging.setLogLevel("org.springframework.kafka.test", LogLevel.OFF);
                  stack.close();
                  stopped.countDown();
                },
                "ferret-shutdown"));
    out.println("Ferret Stream is up: " + stack.gatewayUrl() + " (" + DEV_MODELS_NOTE + ")");
    out.println("  Kafka: " + stack.bootstrapServers() + "   gRPC: localhost:" + stack.grpcPort());
    out.println();
    out.println("Ask it:");
    out.println(
        "  ./ferret ask --url "
            + stack.gatewayUrl()
            + " --image photo.png -q \"Where is the red object?\" -q \"And the blue one?\"");
    out.println("  curl -N " + stack.gatewayUrl() + "/v1/chat/completions \\");
    out.println("    -H 'Content-Type: application/json' \\");
    out.println(
        "    -d '{\"model\":\"ferret-v2-dev\",\"stream\":true,\"grounding\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
            + "\"Where is the red object?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
            + "\"data:image/png;base64,'\"$(base64 -w0 photo.png)\"'\"}}]}]}'");
    out.println();
    out.println("Press Ctrl-C to stop.");
    out.flush();
    stopped.await();
  }

  private int ask(List<String> args) throws IOException, InterruptedException {
    CliArgs options =
        CliArgs.parse(
            args,
            Set.of("image", "url", "max-tokens", "model", "api-key", "question"),
            Set.of("no-stream", "no-grounding", "interactive"),
            Map.of("-q", "question", "-i", "interactive"));
    String image = options.get("image", null);
    if (image == null) {
      throw new UsageException("ask needs --image FILE");
    }
    List<String> questions = new ArrayList<>(options.all("question"));
    if (options.positional().size() > 1) {
      throw new UsageException(
          "ask takes one question as an argument (quote it), or several with -q, got "
              + options.positional());
    }
    if (!options.positional().isEmpty()) {
      if (!questions.isEmpty()) {
        throw new UsageException(
            "give the questions either as one argument or as -q options, not both");
      }
      questions.add(options.positional().get(0));
    }
    for (String question : questions) {
      if (question.isBlank()) {
        throw new UsageException("a question is empty");
      }
    }
    URI gateway;
    try {
      gateway = URI.create(options.get("url", "http://localhost:8080"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--url is not a URL: " + e.getMessage());
    }
    if (gateway.getScheme() == null
        || !(gateway.getScheme().equals("http") || gateway.getScheme().equals("https"))) {
      throw new UsageException("--url must be an http(s) URL, was " + gateway);
    }
    AskCommand.Options ask =
        new AskCommand.Options(
            gateway,
            Path.of(image),
            !options.flag("no-stream"),
            !options.flag("no-grounding"),
            options.positiveInt("max-tokens", 256),
            options.get("model", "ferret-v2-dev"),
            options.get("api-key", System.getenv("FERRET_API_KEY")));
    // no question on the command line: read them from stdin, as with --interactive
    boolean interactive = options.flag("interactive") || questions.isEmpty();
    Reader input = interactive ? new InputStreamReader(in, StandardCharsets.UTF_8) : null;
    boolean prompt = interactive && in == System.in && System.console() != null;
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    return new AskCommand(http, JsonMapper.shared(), out, err).run(ask, questions, input, prompt);
  }
}

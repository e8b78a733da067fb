package ai.ferretstream.inferenceserver;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;

/**
 * Command line: {@code InferenceServerMain --model-repository DIR [--port 8001] [--metrics-port
 * N]}. Serves until SIGTERM/SIGINT; exits 2 on bad arguments and 1 when the models cannot be
 * loaded.
 */
public final class InferenceServerMain {

  static final int DEFAULT_PORT = 8001;

  private InferenceServerMain() {}

  /**
   * Parsed command line.
   *
   * @param metricsPort port of the Prometheus endpoint, or {@link InferenceServer#METRICS_OFF}
   */
  record Options(Path modelRepository, int port, int metricsPort) {}

  public static void main(String[] args) throws InterruptedException {
    quietLoggingUnlessConfigured();
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      usage(System.err);
      System.exit(2);
      return;
    }
    if (options == null) {
      usage(System.out);
      return;
    }
    InferenceServer server;
    try {
      server =
          InferenceServer.start(options.modelRepository(), options.port(), options.metricsPort());
    } catch (IOException | RuntimeException e) {
      System.err.println("inference server failed to start: " + e.getMessage());
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "inference-server-shutdown"));
    server.awaitTermination();
    stopped.await();
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    Path repo = null;
    int port = DEFAULT_PORT;
    int metricsPort = InferenceServer.METRICS_OFF;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "-h", "--help" -> {
          return null;
        }
        case "--model-repository" -> repo = Path.of(value(args, ++i, arg));
        case "--port" -> port = portValue(arg, value(args, ++i, arg));
        case "--metrics-port" -> metricsPort = portValue(arg, value(args, ++i, arg));
        default -> {
          if (arg.startsWith("--model-repository=")) {
            repo = Path.of(arg.substring("--model-repository=".length()));
          } else if (arg.startsWith("--port=")) {
            return parse(replace(args, i, "--port", arg.substring("--port=".length())));
          } else if (arg.startsWith("--metrics-port=")) {
            return parse(
                replace(args, i, "--metrics-port", arg.substring("--metrics-port=".length())));
          } else {
            throw new IllegalArgumentException("unknown argument '" + arg + "'");
          }
        }
      }
    }
    if (repo == null) {
      throw new IllegalArgumentException("--model-repository is required");
    }
    return new Options(repo, port, metricsPort);
  }

  private static int portValue(String flag, String v) {
    int port;
    try {
      port = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " needs a number, got '" + v + "'", e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(flag + " must be 0..65535, got " + port);
    }
    return port;
  }

  private static String[] replace(String[] args, int i, String flag, String value) {
    String[] out = new String[args.length + 1];
    System.arraycopy(args, 0, out, 0, i);
    out[i] = flag;
    out[i + 1] = value;
    System.arraycopy(args, i + 1, out, i + 2, args.length - i - 1);
    return out;
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  /** Logback logs everything at DEBUG without a configuration file; INFO is enough here. */
  private static void quietLoggingUnlessConfigured() {
    if (System.getProperty("logback.configurationFile") == null
        && ClassLoader.getSystemResource("logback.xml") == null
        && ClassLoader.getSystemResource("logback-test.xml") == null
        && LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
    }
  }

  private static void usage(PrintStream out) {
    out.println(
        "usage: InferenceServerMain --model-repository DIR [--port "
            + DEFAULT_PORT
            + "] [--metrics-port N]\n"
            + "  Serves the Triton-layout model repository DIR over the KServe v2 gRPC protocol;\n"
            + "  --metrics-port also serves Prometheus metrics at http://0.0.0.0:N/metrics.");
  }
}

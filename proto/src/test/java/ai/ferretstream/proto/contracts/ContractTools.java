package ai.ferretstream.proto.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The npm tools the contract tests run ({@code proto/src/test/contracts}: the AsyncAPI parser and
 * buf) and where the repository's files are. A missing node or missing npm modules fail the test
 * that needs them, with the command that installs them; they never skip it.
 */
final class ContractTools {

  static final String NPM_HINT = "run `npm ci --prefix proto/src/test/contracts`";

  /** The longest one tool run may take; they take about 2 s (parser) and under 1 s (buf). */
  private static final long TIMEOUT_SECONDS = 60;

  private ContractTools() {}

  /** The repository root: the directory above the test's working directory with proto/buf.yaml. */
  static Path repo() {
    Path dir = Paths.get("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("proto/buf.yaml"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("repository root (with proto/buf.yaml) above %s", Paths.get("")).isNotNull();
    return dir;
  }

  /** {@code proto/src/test/contracts}, the npm project of the tools. */
  static Path contracts() {
    return repo().resolve("proto/src/test/contracts");
  }

  /** Fails (never skips) when node or one of {@code modules} is not installed. */
  static void requireNodeAndModules(List<String> modules) {
    Result version;
    try {
      version = run(List.of("node", "--version"), repo(), Map.of());
    } catch (IOException e) {
      throw new AssertionError(
          "node is not installed (the contract checks run npm tools); install Node.js 20+ and "
              + NPM_HINT,
          e);
    }
    assertThat(version.exitCode()).as("node --version: %s", version.output()).isZero();
    for (String module : modules) {
      if (!Files.isDirectory(contracts().resolve("node_modules").resolve(module))) {
        fail("npm module %s missing in %s: %s", module, contracts(), NPM_HINT);
      }
    }
  }

  /** What a tool printed: stdout and stderr apart, and both in the order of the streams. */
  record Result(int exitCode, String stdout, String stderr) {
    String output() {
      return stdout + (stdout.isEmpty() || stderr.isEmpty() ? "" : "\n") + stderr;
    }
  }

  /**
   * Runs {@code command} in {@code dir} with {@code environment} added, stdin closed, within {@link
   * #TIMEOUT_SECONDS}.
   */
  static Result run(List<String> command, Path dir, Map<String, String> environment)
      throws IOException {
    Path out = Files.createTempFile("ferret-contracts-", ".out");
    Path err = Files.createTempFile("ferret-contracts-", ".err");
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      builder.environment().putAll(environment);
      Process process = builder.start();
      try {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          throw new AssertionError(
              "timed out after " + TIMEOUT_SECONDS + " s: " + String.join(" ", command));
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while running " + command, e);
      }
      return new Result(
          process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8).strip(),
          Files.readString(err, StandardCharsets.UTF_8).strip());
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static java.io.File nullDevice() {
    return new java.io.File(
        System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("windows")
            ? "NUL"
            : "/dev/null");
  }
}

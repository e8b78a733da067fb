package ai.ferretstream.proto.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The {@code ferret.v1} contracts stay compatible with the last released ones: {@code buf breaking}
 * (npm {@code @bufbuild/buf}, {@code proto/src/test/contracts}) with {@code proto/buf.yaml}'s rules
 * (FILE: wire, JSON and generated code) against the copy in {@code proto/src/released/<version>/}
 * (proto/README.md, "Compatibility policy"). Offline: local inputs only.
 */
class ProtoCompatibilityTest {

  /** buf's exit status when it found breaking changes (other failures exit 1). */
  private static final int BREAKING = 100;

  private static final String FERRET_PROTO = "ferret/v1/ferret.proto";

  private static Path proto;
  private static Path baseline;

  @TempDir Path tmp;

  @BeforeAll
  static void locateBufAndBaseline() throws IOException {
    proto = ContractTools.repo().resolve("proto");
    baseline = latestRelease(proto.resolve("src/released"));
    ContractTools.requireNodeAndModules(List.of("@bufbuild/buf"));
  }

  @Test
  void theContractsAreCompatibleWithTheLastRelease() throws IOException {
    ContractTools.Result result = breaking(proto);
    assertThat(result.exitCode())
        .as(
            "buf breaking against %s (proto/README.md, \"Compatibility policy\"):\n%s",
            proto.relativize(baseline), result.output())
        .isZero();
  }

  @Test
  void theBaselineHoldsTheReleasedFerretContract() {
    assertThat(baseline.resolve(FERRET_PROTO)).isRegularFile();
    assertThat(baseline.resolve("inference"))
        .as("inference/ is Triton's, not checked")
        .doesNotExist();
  }

  @ParameterizedTest(name = "{0} is breaking ({2})")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          a renumbered field     | string image_media_type = 3; | string image_media_type = 4;                 | FIELD_NO_DELETE
          a deleted field        | '  string reason = 2;\n'     | ''                                           | FIELD_NO_DELETE
          a renamed field        | string stage = 3;            | string service = 3;                          | FIELD_SAME_NAME
          a field's new type     | int64 seq = 2;               | int32 seq = 2;                               | FIELD_SAME_TYPE
          a deleted enum value   | '  RESIZE_MODE_PAD = 2;\n'   | ''                                           | ENUM_VALUE_NO_DELETE
          a renamed message      | message Cancel {             | message CancelRequest {                      | MESSAGE_NO_DELETE
          another Java package   | "ai.ferretstream.proto.v1"   | "ai.ferretstream.proto.v1.api"               | FILE_SAME_JAVA_PACKAGE
          """)
  void aBreakingChangeFailsTheCheck(String what, String from, String to, String rule)
      throws IOException {
    ContractTools.Result result = breaking(changedCopy(from, to));
    assertThat(result.exitCode()).as("%s:\n%s", what, result.output()).isEqualTo(BREAKING);
    assertThat(result.stdout()).as(what).contains("\"type\":\"" + rule + "\"");
  }

  @ParameterizedTest(name = "{0} is allowed")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          a new field         | '  string reason = 2;\n'  | '  string reason = 2;\n  string origin = 4;\n'
          a new message       | '// ferret.control\n'     | 'message Ping {\n  string id = 1;\n}\n\n// ferret.control\n'
          a new enum value    | '  RESIZE_MODE_PAD = 2;\n' | '  RESIZE_MODE_PAD = 2;\n  RESIZE_MODE_CROP = 3;\n'
          a deprecated field  | string reason = 2;        | string reason = 2 [deprecated = true];
          """)
  void aCompatibleChangePasses(String what, String from, String to) throws IOException {
    ContractTools.Result result = breaking(changedCopy(from, to));
    assertThat(result.exitCode()).as("%s:\n%s", what, result.output()).isZero();
  }

  /**
   * A copy of proto/ (buf.yaml and the .proto files) with {@code from} replaced once by {@code to}.
   */
  private Path changedCopy(String from, String to) throws IOException {
    String was = from.replace("\\n", "\n");
    String now = to.replace("\\n", "\n");
    Path copy = tmp.resolve("proto");
    Files.createDirectories(copy);
    Files.copy(proto.resolve("buf.yaml"), copy.resolve("buf.yaml"));
    copyTree(proto.resolve("src/main/proto"), copy.resolve("src/main/proto"));
    Path file = copy.resolve("src/main/proto").resolve(FERRET_PROTO);
    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertThat(text).as("ferret.proto holds the text to change").contains(was);
    Files.writeString(file, text.replaceFirst(Pattern.quote(was), Matcher.quoteReplacement(now)));
    return copy;
  }

  /** {@code buf breaking} of the module in {@code dir} against the baseline, JSON diagnostics. */
  private static ContractTools.Result breaking(Path dir) throws IOException {
    return ContractTools.run(
        List.of(
            "node",
            ContractTools.contracts().resolve("node_modules/@bufbuild/buf/bin/buf").toString(),
            "breaking",
            "--against",
            baseline.toString(),
            "--error-format",
            "json"),
        dir,
        Map.of("BUF_CACHE_DIR", proto.resolve("target/buf-cache").toString()));
  }

  /** The highest version directory of {@code released} (e.g. {@code 0.1.0}). */
  private static Path latestRelease(Path released) throws IOException {
    List<Path> versions = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(released)) {
      dirs.filter(Files::isDirectory)
          .filter(d -> d.getFileName().toString().matches("\\d+\\.\\d+\\.\\d+"))
          .forEach(versions::add);
    }
    assertThat(versions).as("released versions in %s", released).isNotEmpty();
    return versions.stream().max(Comparator.comparing(ProtoCompatibilityTest::version)).get();
  }

  /** major.minor.patch as one number that orders versions (each part below 10,000). */
  private static long version(Path dir) {
    long order = 0;
    for (String part : dir.getFileName().toString().split("\\.")) {
      order = order * 10_000 + Integer.parseInt(part);
    }
    return order;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}

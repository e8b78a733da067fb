package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code H_a} against PyTorch 1.13 on the checked-in reference tensors ({@code
 * src/test/resources/fusion-parity}, made by {@code parity/make_fusion_reference.py}): the merge
 * ({@code view(rows, cols, 24, 24, C).permute(0, 2, 1, 3, 4)}), {@code F.interpolate} of the global
 * map ({@code nearest}; {@code bilinear} with {@code align_corners=False}) and the FP32 sum.
 *
 * <p>Every element of the FP32 {@link FusionReference} (the formula as plain loops) and of {@link
 * FeatureMaps#fusedMapFp16} decoded back (which must be the reference rounded, bit for bit) must
 * satisfy {@code |java - ref| <= 1e-3 * max(1, |ref|)}, with the vector kernels and with the scalar
 * ones. The FP16 map carries FP16 rounding (relative error up to 2^-11), which this bound allows.
 */
class FusionParityTest {

  private static final Path REFERENCE = Path.of("src/test/resources/fusion-parity");
  private static final double TOLERANCE = 1e-3;

  static Stream<Arguments> cases() {
    JsonNode manifest;
    try {
      manifest = JsonMapper.builder().build().readTree(REFERENCE.resolve("manifest.json").toFile());
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot read " + REFERENCE.resolve("manifest.json"), e);
    }
    assertThat(manifest.get("patches").asInt()).isEqualTo(24);
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : manifest.get("cases")) {
      for (UpsampleMode mode : UpsampleMode.values()) {
        for (boolean simd : new boolean[] {true, false}) {
          out.add(Arguments.of(c.get("name").asString(), mode, simd, c));
        }
      }
    }
    assertThat(out).as("reference cases").hasSizeGreaterThanOrEqualTo(5 * 4);
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1} simd={2}")
  @MethodSource("cases")
  void fusedMapMatchesPyTorch(String name, UpsampleMode mode, boolean simd, JsonNode c) {
    int cols = c.get("cols").asInt();
    int rows = c.get("rows").asInt();
    int channels = c.get("channels").asInt();
    int patches = 24;
    byte[] global = read(c.get("global").get("file").asString());
    byte[] locals = read(c.get("locals").get("file").asString());
    String modeName = mode.name().toLowerCase(Locale.ROOT);
    JsonNode expectedNode = c.get("expected").get(modeName);
    float[] expected = TensorCodec.fp32ToFloats(read(expectedNode.get("file").asString()));
    int h = rows * patches;
    int w = cols * patches;
    assertThat(expected).as("reference size").hasSize(h * w * channels);

    int tileBytes = patches * patches * channels * 2;
    assertThat(global).hasSize(tileBytes);
    assertThat(locals).hasSize(rows * cols * tileBytes);
    List<ByteString> tiles = new ArrayList<>();
    for (int k = 0; k < rows * cols; k++) {
      tiles.add(ByteString.copyFrom(locals, k * tileBytes, tileBytes));
    }
    byte[] tokens =
        ImageTokens.of(ByteString.copyFrom(global), tiles, rows, cols, patches, patches, channels);

    float[] fp32 =
        FusionReference.fusedMap(tokens, 0, patches, patches, global.length, h, w, channels, mode);
    byte[] served =
        FeatureMaps.fusedMapFp16(
            tokens, 0, patches, patches, global.length, h, w, channels, mode, null, simd);
    assertThat(served)
        .as("%s %s: the served FP16 map is the FP32 reference rounded", name, modeName)
        .isEqualTo(TensorCodec.floatsToFp16(fp32));
    float[] fp16 = TensorCodec.fp16ToFloats(served);

    String kernels = FeatureMaps.kernelsName(simd);
    Errors e32 = Errors.of(fp32, expected, w, channels);
    Errors e16 = Errors.of(fp16, expected, w, channels);
    System.out.printf(
        Locale.ROOT,
        "fusion parity %-13s %-8s %-10s fp32: max abs %.3g, max rel %.3g, exact %d/%d;"
            + " fp16: max abs %.3g, max rel %.3g%n",
        name,
        modeName,
        kernels,
        e32.maxAbs,
        e32.maxRel,
        e32.exact,
        expected.length,
        e16.maxAbs,
        e16.maxRel);
    assertThat(e32.violations).as("%s %s %s fp32: %s", name, modeName, kernels, e32).isZero();
    assertThat(e16.violations).as("%s %s %s fp16: %s", name, modeName, kernels, e16).isZero();
  }

  private static byte[] read(String file) {
    try {
      return Files.readAllBytes(REFERENCE.resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Per-element errors against the reference; {@code rel = |a - b| / max(1, |b|)}. */
  record Errors(double maxAbs, double maxRel, int exact, int violations, String firstViolation) {

    static Errors of(float[] actual, float[] expected, int w, int channels) {
      assertThat(actual).hasSameSizeAs(expected);
      double maxAbs = 0;
      double maxRel = 0;
      int exact = 0;
      int violations = 0;
      String first = "none";
      for (int i = 0; i < actual.length; i++) {
        double a = actual[i];
        double b = expected[i];
        double abs = Math.abs(a - b);
        double rel = abs / Math.max(1.0, Math.abs(b));
        if (Float.floatToIntBits(actual[i]) == Float.floatToIntBits(expected[i])) {
          exact++;
        }
        if (!(abs <= TOLERANCE * Math.max(1.0, Math.abs(b)))) { // NaN fails too
          if (violations++ == 0) {
            int pos = i / channels;
            first =
                String.format(
                    Locale.ROOT,
                    "(y %d, x %d, channel %d): java %s, torch %s",
                    pos / w,
                    pos % w,
                    i % channels,
                    actual[i],
                    expected[i]);
          }
        }
        maxAbs = Math.max(maxAbs, Double.isNaN(abs) ? Double.POSITIVE_INFINITY : abs);
        maxRel = Math.max(maxRel, Double.isNaN(rel) ? Double.POSITIVE_INFINITY : rel);
      }
      return new Errors(maxAbs, maxRel, exact, violations, first);
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "%d elements outside |a-b| <= 1e-3*max(1,|b|), first at %s; max abs %.3g, max rel %.3g",
          violations,
          firstViolation,
          maxAbs,
          maxRel);
    }
  }
}

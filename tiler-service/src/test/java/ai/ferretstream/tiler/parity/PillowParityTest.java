package ai.ferretstream.tiler.parity;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.tiler.cli.TileCommand;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The tiler against Pillow 9.4 on the checked-in corpus ({@code src/test/resources/parity}, made by
 * {@code parity/make_parity_corpus.py} with Debian's python3-pil): every decode case and every
 * tiling case (through {@link TileCommand}, the code path of {@code ferret tile} and of the
 * service) must have the same grid and, per channel, a mean absolute difference of at most 0.5 grey
 * levels with at least 99 % of samples within ±1.
 *
 * <p>Lossless inputs must match exactly (and so do the JPEG cases: the JDK's libjpeg and Pillow's
 * libjpeg-turbo use the same integer IDCT and upsampling). One known gap: lossy WebP is decoded by
 * the TwelveMonkeys VP8 decoder, whose chroma upsampling differs from libwebp's "fancy" upsampling
 * at colour edges; that case is held to its own, looser bound ({@link #LOSSY_WEBP_MAX_MAD}) and
 * reported as a gap rather than passed off as parity.
 */
class PillowParityTest {

  private static final Path CORPUS = Path.of("src/test/resources/parity");
  private static final double MAX_MEAN_ABS_DIFF = 0.5;
  private static final double MIN_WITHIN_ONE = 0.99;

  /** Known gap, see the class comment: measured 2.9 / 2.0 / 3.6 on {@code webp-lossy}. */
  private static final double LOSSY_WEBP_MAX_MAD = 4.0;

  private final ImageDecoder decoder =
      new ImageDecoder(TileCommand.DEFAULT_MAX_BYTES, TileCommand.DEFAULT_MAX_PIXELS);

  static Stream<Arguments> decodeCases() {
    return cases("decode");
  }

  static Stream<Arguments> tileCases() {
    return cases("tile");
  }

  private static Stream<Arguments> cases(String kind) {
    List<Arguments> found = new ArrayList<>();
    for (JsonNode c : manifest().get("cases")) {
      if (c.get("kind").asString().equals(kind)) {
        found.add(Arguments.of(c.get("name").asString(), c));
      }
    }
    assertThat(found).as("%s cases in the corpus", kind).isNotEmpty();
    return found.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("decodeCases")
  void decodesLikePillow(String name, JsonNode c) throws IOException {
    byte[] input = Files.readAllBytes(CORPUS.resolve(c.get("input").asString()));
    BufferedImage expected = read(CORPUS.resolve(c.get("expected").asString()));

    int[] decoded = decoder.decode(input).pixels();

    Difference diff = Difference.of(expected, decoded);
    report(name, diff);
    assertThat(diff.sizeMatches).as("size").isTrue();
    if (lossless(c.get("input").asString())) {
      assertThat(diff.maxAbs).as("%s: lossless input must decode exactly", name).isZero();
    }
    if (name.equals("webp-lossy")) {
      for (int ch = 0; ch < 3; ch++) {
        assertThat(diff.meanAbs[ch]).as("known gap, channel %d", ch).isLessThan(LOSSY_WEBP_MAX_MAD);
      }
      return;
    }
    diff.assertWithinTolerance(name);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tileCases")
  void tilesLikePillow(String name, JsonNode c, @TempDir Path out) throws IOException {
    byte[] input = Files.readAllBytes(CORPUS.resolve(c.get("input").asString()));
    Path expected = CORPUS.resolve(c.get("expected").asString());
    ResizeMode mode = ResizeMode.parse(c.get("mode").asString());

    TileCommand.withDefaults(mode, Parallelism.sequential()).write(input, out);

    JsonMapper json = JsonMapper.builder().build();
    assertThat(json.readTree(Files.readString(out.resolve("grid.json"))))
        .as("grid.json")
        .isEqualTo(json.readTree(Files.readString(expected.resolve("grid.json"))));
    int tiles = json.readTree(Files.readString(expected.resolve("grid.json"))).get("tiles").size();
    List<String> files = new ArrayList<>(List.of("global.png"));
    for (int k = 0; k < tiles; k++) {
      files.add("tile-" + k + ".png");
    }
    for (String file : files) {
      Difference diff = Difference.of(read(expected.resolve(file)), rgb(read(out.resolve(file))));
      report(name + "/" + file, diff);
      assertThat(diff.sizeMatches).as("%s size", file).isTrue();
      if (lossless(c.get("input").asString())) {
        assertThat(diff.maxAbs).as("%s/%s: lossless input must tile exactly", name, file).isZero();
      }
      diff.assertWithinTolerance(name + "/" + file);
    }
  }

  private static boolean lossless(String input) {
    String lower = input.toLowerCase(Locale.ROOT);
    return lower.endsWith(".png")
        || lower.endsWith(".gif")
        || lower.endsWith(".bmp")
        || lower.contains("webp-lossless")
        || lower.contains("webp-alpha");
  }

  private static void report(String name, Difference diff) {
    System.out.printf(
        Locale.ROOT,
        "parity %-48s mad %.4f %.4f %.4f  within1 %.5f  max %d%n",
        name,
        diff.meanAbs[0],
        diff.meanAbs[1],
        diff.meanAbs[2],
        diff.withinOne,
        diff.maxAbs);
  }

  private static JsonNode manifest() {
    try {
      return JsonMapper.builder()
          .build()
          .readTree(Files.readString(CORPUS.resolve("manifest.json")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static BufferedImage read(Path file) throws IOException {
    BufferedImage image = ImageIO.read(file.toFile());
    assertThat(image).as("readable PNG %s", file).isNotNull();
    return image;
  }

  private static int[] rgb(BufferedImage image) {
    return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
  }

  /** Per-channel statistics of |ours - Pillow's|. */
  private static final class Difference {
    boolean sizeMatches;
    final double[] meanAbs = new double[3];
    double withinOne;
    int maxAbs;

    static Difference of(BufferedImage expected, int[] actual) {
      Difference d = new Difference();
      int[] want = rgb(expected);
      d.sizeMatches = want.length == actual.length;
      if (!d.sizeMatches) {
        d.maxAbs = 255;
        return d;
      }
      long[] sums = new long[3];
      long within = 0;
      for (int i = 0; i < want.length; i++) {
        for (int c = 0; c < 3; c++) {
          int shift = 16 - 8 * c;
          int diff = Math.abs(((want[i] >> shift) & 0xff) - ((actual[i] >> shift) & 0xff));
          sums[c] += diff;
          within += diff <= 1 ? 1 : 0;
          d.maxAbs = Math.max(d.maxAbs, diff);
        }
      }
      for (int c = 0; c < 3; c++) {
        d.meanAbs[c] = (double) sums[c] / want.length;
      }
      d.withinOne = (double) within / (3.0 * want.length);
      return d;
    }

    void assertWithinTolerance(String name) {
      for (int c = 0; c < 3; c++) {
        assertThat(meanAbs[c])
            .as("%s mean |diff| channel %d", name, c)
            .isLessThanOrEqualTo(MAX_MEAN_ABS_DIFF);
      }
      assertThat(withinOne)
          .as("%s share of samples within ±1", name)
          .isGreaterThanOrEqualTo(MIN_WITHIN_ONE);
    }
  }
}

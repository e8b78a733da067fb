package ai.ferretstream.tiler.domain.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import ai.ferretstream.tiler.domain.PackedImage;
import ai.ferretstream.tiler.domain.decode.ImageRefused.Reason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link PngDecoder}: exact parity with Pillow 9.4's {@code convert('RGB')} on the parity corpus,
 * every colour type and bit depth (interlaced or not, every filter type) against samples encoded
 * here, and hostile input, which gives an {@link ImageRefused} and nothing else.
 */
class PngDecoderTest {

  private static final PngDecoder.PixelLimit ANY_SIZE = (width, height) -> {};

  /** Allocation allowed for refusing a bomb: far below the gigabytes its pixels would take. */
  private static final long BOMB_ALLOCATION_LIMIT = 4L << 20;

  // ---------------------------------------------------------------------------------------------
  // parity with Pillow

  @Test
  void decodesEveryPngOfTheParityCorpusExactlyAsPillow() {
    List<String[]> cases = pngDecodeCases();
    assertThat(cases).hasSizeGreaterThanOrEqualTo(12);

    for (String[] c : cases) {
      String name = c[0];
      byte[] input = resource(c[1]);
      PackedImage decoded = PngDecoder.decode(input, ANY_SIZE);
      // Pillow's expected image of an EXIF-oriented PNG has the orientation applied, which is
      // the caller's job: compare the stored pixels with ImageIO's (the file is 8-bit RGB)
      BufferedImage expected =
          name.equals("png-exif-orientation-6") ? image(input) : image(resource(c[2]));
      if (name.equals("png-exif-orientation-6")) {
        assertThat(decoded.width()).as(name).isEqualTo(120);
        assertThat(decoded.height()).as(name).isEqualTo(80);
      }

      assertThat(decoded.width()).as(name).isEqualTo(expected.getWidth());
      assertThat(decoded.height()).as(name).isEqualTo(expected.getHeight());
      assertSamePixels(name, decoded, rgb(expected));
    }
  }

  @Test
  void theCorpusCoversTheColourTypesItClaims() {
    List<String> names = pngDecodeCases().stream().map(c -> c[0]).toList();

    assertThat(names)
        .contains(
            "png-rgb8",
            "png-rgba8",
            "png-rgb16",
            "png-rgba16",
            "png-grey8",
            "png-grey16",
            "png-la",
            "png-palette-trns",
            "png-palette-4bit",
            "png-1bit",
            "png-interlaced-rgb",
            "png-exif-orientation-6");
  }

  // ---------------------------------------------------------------------------------------------
  // every colour type and bit depth, against samples encoded here

  @ParameterizedTest(name = "colour type {0}, {1} bits, {2}x{3}, interlaced {4}")
  @CsvSource({
    "0, 1, 37, 23, false",
    "0, 1, 37, 23, true",
    "0, 2, 29, 17, false",
    "0, 2, 29, 17, true",
    "0, 4, 19, 31, false",
    "0, 4, 19, 31, true",
    "0, 8, 33, 21, false",
    "0, 8, 33, 21, true",
    "0, 16, 27, 19, false",
    "0, 16, 27, 19, true",
    "2, 8, 41, 29, false",
    "2, 8, 41, 29, true",
    "2, 16, 23, 18, false",
    "2, 16, 23, 18, true",
    "3, 1, 35, 12, false",
    "3, 1, 35, 12, true",
    "3, 2, 21, 14, false",
    "3, 2, 21, 14, true",
    "3, 4, 25, 16, false",
    "3, 4, 25, 16, true",
    "3, 8, 31, 22, false",
    "3, 8, 31, 22, true",
    "4, 8, 26, 15, false",
    "4, 8, 26, 15, true",
    "4, 16, 17, 13, false",
    "4, 16, 17, 13, true",
    "6, 8, 30, 20, false",
    "6, 8, 30, 20, true",
    "6, 16, 15, 11, false",
    "6, 16, 15, 11, true",
    // tiny images leave some Adam7 passes empty
    "2, 8, 1, 1, true",
    "2, 8, 3, 2, true",
    "0, 1, 5, 3, true",
    "6, 16, 1, 9, true",
  })
  void decodesEveryColourTypeAndBitDepth(
      int colourType, int bitDepth, int width, int height, boolean interlaced) {
    Random random = new Random(31L * colourType + bitDepth + width);
    Synthetic image = Synthetic.random(colourType, bitDepth, width, height, random);

    byte[] png = image.encode(interlaced, 7, null);

    assertSamePixels(image.toString(), PngDecoder.decode(png, ANY_SIZE), image.expected());
  }

  @Test
  void everyFilterTypeOnEveryRowGivesTheSamePixels() {
    for (int filter = 0; filter <= 4; filter++) {
      for (int colourType : new int[] {0, 2, 6}) {
        Synthetic image = Synthetic.random(colourType, 8, 45, 17, new Random(filter));
        for (boolean interlaced : new boolean[] {false, true}) {
          byte[] png = image.encode(interlaced, 100, filter);

          assertSamePixels(
              "filter " + filter + ", " + image,
              PngDecoder.decode(png, ANY_SIZE),
              image.expected());
        }
      }
    }
  }

  @Test
  void sixteenBitGreyClipsAt255AsPillowsModeI() {
    Synthetic image = Synthetic.grey16(new int[] {0, 1, 254, 255, 256, 511, 4096, 65535});

    PackedImage decoded = PngDecoder.decode(image.encode(false, 100, 0), ANY_SIZE);

    assertThat(decoded.pixels())
        .containsExactly(0, 0x010101, 0xfefefe, 0xffffff, 0xffffff, 0xffffff, 0xffffff, 0xffffff);
  }

  @Test
  void paletteIndicesPastThePaletteAreBlack() {
    Synthetic image =
        new Synthetic(
            3, 4, 4, 1, new int[][] {{0}, {1}, {2}, {15}}, new int[] {0x112233, 0xabcdef});

    PackedImage decoded = PngDecoder.decode(image.encode(false, 100, 0), ANY_SIZE);

    assertThat(decoded.pixels()).containsExactly(0x112233, 0xabcdef, 0, 0);
  }

  @Test
  void readsImageDataSplitIntoManyChunksAndNoIend() {
    Synthetic image = Synthetic.random(2, 8, 20, 10, new Random(5));
    byte[] png = image.encode(false, 1, null);
    byte[] noIend = Arrays.copyOf(png, png.length - 12);

    assertSamePixels("one byte per IDAT", PngDecoder.decode(png, ANY_SIZE), image.expected());
    assertSamePixels("no IEND", PngDecoder.decode(noIend, ANY_SIZE), image.expected());
  }

  @Test
  void ignoresAncillaryChunksAndTrns() {
    Synthetic image = Synthetic.random(3, 8, 12, 9, new Random(8));
    byte[] png = image.encode(false, 100, null);
    byte[] trns = new byte[] {0, 0, 0, 0};
    byte[] text = "Comment\0hello".getBytes(StandardCharsets.ISO_8859_1);
    byte[] withChunks =
        insertAfterFirstChunk(insertAfterFirstChunk(png, chunk("tRNS", trns)), chunk("tEXt", text));

    assertSamePixels("tRNS and tEXt", PngDecoder.decode(withChunks, ANY_SIZE), image.expected());
  }

  // ---------------------------------------------------------------------------------------------
  // hostile input

  @Test
  void refusesTruncatedImagesAtEveryKindOfCut() throws IOException {
    for (String input : List.of("inputs/png-rgb8.png", "inputs/png-interlaced-rgb.png")) {
      byte[] png = resource(input);
      PackedImage whole = PngDecoder.decode(png, ANY_SIZE);
      int idatEnd = endOfLastIdat(png);
      int[] cuts = {
        0,
        1,
        7,
        8,
        12,
        16,
        20,
        32,
        33,
        40,
        60,
        png.length / 4,
        png.length / 2,
        idatEnd - 5,
        idatEnd - 4,
        idatEnd - 1,
        idatEnd,
        png.length - 1
      };
      for (int cut : cuts) {
        byte[] truncated = Arrays.copyOf(png, cut);
        Throwable thrown = catchThrowable(() -> PngDecoder.decode(truncated, ANY_SIZE));

        if (cut >= idatEnd) {
          // every row is there: a missing IEND does not matter
          assertThat(thrown).as(input + " cut at " + cut).isNull();
          assertThat(PngDecoder.decode(truncated, ANY_SIZE).pixels()).isEqualTo(whole.pixels());
        } else {
          assertRefusedOrWhole(input + " cut at " + cut, truncated, thrown, whole);
        }
      }
      // cut in the middle of the image data: the rows are missing, not corrupt
      byte[] half = Arrays.copyOf(png, (idatEnd + 41) / 2);
      assertRefused(half, Reason.TRUNCATED);
    }
  }

  @Test
  void refusesEveryPrefixOfASmallPngWithARefusal() {
    byte[] png = Synthetic.random(6, 16, 9, 7, new Random(3)).encode(true, 40, null);
    int idatEnd = endOfLastIdat(png);

    PackedImage whole = PngDecoder.decode(png, ANY_SIZE);
    int refused = 0;

    for (int cut = 0; cut < idatEnd; cut++) {
      byte[] truncated = Arrays.copyOf(png, cut);
      Throwable thrown = catchThrowable(() -> PngDecoder.decode(truncated, ANY_SIZE));

      assertRefusedOrWhole("cut at " + cut, truncated, thrown, whole);
      refused += thrown != null ? 1 : 0;
    }
    assertThat(refused).isGreaterThan(idatEnd - 40);
  }

  /**
   * A cut image is refused as truncated or corrupt, unless the cut only loses the end of the zlib
   * stream after the last row (its checksum), when every pixel is there.
   */
  private static void assertRefusedOrWhole(
      String what, byte[] truncated, Throwable thrown, PackedImage whole) {
    if (thrown == null) {
      assertThat(PngDecoder.decode(truncated, ANY_SIZE).pixels())
          .as(what)
          .isEqualTo(whole.pixels());
    } else {
      assertThat(thrown).as(what).isInstanceOf(ImageRefused.class);
      assertThat(((ImageRefused) thrown).reason()).as(what).isIn(Reason.TRUNCATED, Reason.CORRUPT);
    }
  }

  @Test
  void asksThePixelLimitAboutABombBeforeAllocatingIt() {
    byte[] bomb = pngBomb(60_000, 60_000);
    List<int[]> asked = new ArrayList<>();
    PngDecoder.PixelLimit limit =
        (width, height) -> {
          asked.add(new int[] {width, height});
          throw new ImageRefused(Reason.TOO_MANY_PIXELS, width + "x" + height + " is too many");
        };
    catchThrowable(() -> PngDecoder.decode(pngBomb(100, 100), limit)); // warm up
    asked.clear();

    long before = allocatedBytes();
    Throwable thrown = catchThrowable(() -> PngDecoder.decode(bomb, limit));
    long allocated = allocatedBytes() - before;

    assertThat(thrown).isInstanceOf(ImageRefused.class);
    assertThat(((ImageRefused) thrown).reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
    assertThat(asked).hasSize(1);
    assertThat(asked.get(0)).containsExactly(60_000, 60_000);
    assertThat(allocated).isLessThan(BOMB_ALLOCATION_LIMIT);
  }

  @Test
  void refusesImageDataTooShortForItsSizeWithoutAllocatingTheImage() {
    // the limit lets 20000x20000 through, but a few hundred bytes of zlib data cannot inflate to
    // the 50 MB of its rows (nor fill its 1.6 GB of pixels)
    byte[] bomb = pngBomb(20_000, 20_000);
    catchThrowable(() -> PngDecoder.decode(pngBomb(100, 100), ANY_SIZE)); // warm up

    long before = allocatedBytes();
    Throwable thrown = catchThrowable(() -> PngDecoder.decode(bomb, ANY_SIZE));
    long allocated = allocatedBytes() - before;

    assertThat(thrown).isInstanceOf(ImageRefused.class);
    assertThat(((ImageRefused) thrown).reason()).isEqualTo(Reason.TRUNCATED);
    assertThat(allocated).isLessThan(BOMB_ALLOCATION_LIMIT);
  }

  @Test
  void refusesAnImageWhoseDataCannotFitAnArray() {
    assertRefused(pngBomb(Integer.MAX_VALUE, Integer.MAX_VALUE), Reason.CORRUPT);
    assertRefused(header(60_000, 60_000, 1, 0, 0), Reason.TOO_MANY_PIXELS);
  }

  @Test
  void refusesABadCrcInIhdr() {
    byte[] png = Synthetic.random(2, 8, 4, 4, new Random(1)).encode(false, 100, null);
    png[8 + 8 + 13 + 3] ^= 1; // the CRC itself: the header is otherwise fine

    assertRefused(png, Reason.CORRUPT);
  }

  @Test
  void refusesABadCrcInPlte() {
    byte[] png = Synthetic.random(3, 8, 4, 4, new Random(1)).encode(false, 100, null);
    int plte = 8 + 25;
    assertThat(new String(png, plte + 4, 4, StandardCharsets.US_ASCII)).isEqualTo("PLTE");
    png[plte + 8] ^= 1;

    assertRefused(png, Reason.CORRUPT);
  }

  @Test
  void refusesABadFilterType() {
    Synthetic image = Synthetic.random(2, 8, 6, 5, new Random(2));
    byte[] raw = image.filtered(false, null);
    raw[(6 * 3 + 1) * 3] = 5; // the fourth row's filter byte

    assertRefused(png(image.ihdr(false), null, raw, 100), Reason.CORRUPT);
  }

  @Test
  void refusesAPaletteImageWithoutPlte() {
    Synthetic image = Synthetic.random(3, 8, 6, 5, new Random(2));

    assertRefused(png(image.ihdr(false), null, image.filtered(false, 0), 100), Reason.CORRUPT);
  }

  @Test
  void refusesCorruptZlibData() {
    Synthetic image = Synthetic.random(2, 8, 16, 16, new Random(4));
    byte[] png = image.encode(false, 1 << 20, 0);
    int idat = 8 + 25;
    png[idat + 8] = 0x78;
    png[idat + 9] = 0x00; // a zlib header whose check bits are wrong

    assertRefused(withFixedCrc(png, idat), Reason.CORRUPT);
  }

  @Test
  void refusesAZlibStreamThatEndsBeforeTheLastRow() {
    Synthetic image = Synthetic.random(2, 8, 16, 16, new Random(4));
    byte[] raw = image.filtered(false, 0);
    byte[] oneRowShort = Arrays.copyOf(raw, raw.length - (16 * 3 + 1));

    assertRefused(png(image.ihdr(false), null, oneRowShort, 100), Reason.TRUNCATED);
  }

  @Test
  void refusesAnImageDataChunkBeforeTheHeader() {
    byte[] png = Synthetic.random(2, 8, 4, 4, new Random(1)).encode(false, 100, null);
    byte[] idatFirst = concat(Arrays.copyOf(png, 8), chunk("IDAT", new byte[] {1, 2}));
    idatFirst = concat(idatFirst, Arrays.copyOfRange(png, 8, png.length));

    assertRefused(idatFirst, Reason.CORRUPT);
  }

  @Test
  void refusesSomethingThatIsNotAPng() {
    assertRefused("GIF89a....".getBytes(StandardCharsets.US_ASCII), Reason.CORRUPT);
    assertRefused(new byte[0], Reason.TRUNCATED);
  }

  @ParameterizedTest(name = "{0}x{1}")
  @CsvSource({"0, 10", "10, 0", "-1, 10", "10, -2147483648"})
  void refusesZeroAndHugeDimensions(int width, int height) {
    assertRefused(header(width, height, 8, 2, 0), Reason.BAD_DIMENSIONS);
  }

  @ParameterizedTest(name = "bit depth {0}, colour type {1}, interlace {2}")
  @CsvSource({
    "3, 0, 0",
    "16, 3, 0",
    "4, 2, 0",
    "1, 6, 0",
    "2, 4, 0",
    "8, 1, 0",
    "8, 7, 0",
    "8, 2, 2"
  })
  void refusesInvalidHeaderValues(int bitDepth, int colourType, int interlace) {
    assertRefused(header(10, 10, bitDepth, colourType, interlace), Reason.CORRUPT);
  }

  @Test
  void refusesAHeaderWithOtherCompressionOrFilterMethods() {
    byte[] compression = header(10, 10, 8, 2, 0);
    compression[8 + 8 + 10] = 1;
    byte[] filter = header(10, 10, 8, 2, 0);
    filter[8 + 8 + 11] = 1;

    assertRefused(withFixedCrc(compression, 8), Reason.CORRUPT);
    assertRefused(withFixedCrc(filter, 8), Reason.CORRUPT);
  }

  @Test
  void refusesAChunkLengthRunningPastTheData() {
    byte[] png = Synthetic.random(2, 8, 8, 8, new Random(6)).encode(false, 100, null);
    int idat = 8 + 25;
    ByteBuffer.wrap(png).putInt(idat, 0x7fff_fff0);

    assertRefused(png, Reason.TRUNCATED);
  }

  @Test
  void randomlyMutatedPngsDecodeOrAreRefused() {
    byte[] small = Synthetic.random(3, 4, 13, 11, new Random(9)).encode(true, 30, null);
    byte[] rgb = Synthetic.random(2, 8, 17, 9, new Random(10)).encode(false, 64, null);
    Random random = new Random(2024);

    for (int i = 0; i < 300; i++) {
      byte[] png = (i % 2 == 0 ? small : rgb).clone();
      int mutations = 1 + random.nextInt(8);
      for (int m = 0; m < mutations; m++) {
        int at = random.nextInt(png.length);
        switch (random.nextInt(4)) {
          case 0 -> png[at] = (byte) random.nextInt(256);
          case 1 -> png[at] ^= (byte) (1 << random.nextInt(8));
          case 2 -> png[at] = (byte) (random.nextBoolean() ? 0 : 0xff);
          default -> png = Arrays.copyOf(png, Math.max(1, png.length - random.nextInt(40)));
        }
      }
      byte[] mutated = png;

      Throwable thrown = catchThrowable(() -> PngDecoder.decode(mutated, ANY_SIZE));

      if (thrown != null) {
        assertThat(thrown).as("mutation " + i).isInstanceOf(ImageRefused.class);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  /** {name, input, expected} of the PNG decode cases of the parity manifest. */
  private static List<String[]> pngDecodeCases() {
    String manifest = new String(resource("manifest.json"), StandardCharsets.UTF_8);
    Matcher object = Pattern.compile("\\{[^{}]*}").matcher(manifest);
    List<String[]> cases = new ArrayList<>();
    while (object.find()) {
      String c = object.group();
      String kind = field(c, "kind");
      String input = field(c, "input");
      if ("decode".equals(kind) && input != null && input.endsWith(".png")) {
        cases.add(new String[] {field(c, "name"), input, field(c, "expected")});
      }
    }
    return cases;
  }

  private static String field(String object, String key) {
    Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*\"([^\"]*)\"").matcher(object);
    return m.find() ? m.group(1) : null;
  }

  private static byte[] resource(String path) {
    try (InputStream in = PngDecoderTest.class.getResourceAsStream("/parity/" + path)) {
      assertThat(in).as("resource /parity/" + path).isNotNull();
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static BufferedImage image(byte[] bytes) {
    try {
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
      assertThat(image).isNotNull();
      return image;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int[] rgb(BufferedImage image) {
    int[] argb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    for (int i = 0; i < argb.length; i++) {
      argb[i] &= 0xffffff;
    }
    return argb;
  }

  private static void assertSamePixels(String what, PackedImage decoded, int[] expected) {
    int[] actual = decoded.pixels();
    assertThat(actual.length).as(what + ": pixel count").isEqualTo(expected.length);
    for (int i = 0; i < expected.length; i++) {
      if (actual[i] != expected[i]) {
        throw new AssertionError(
            String.format(
                "%s: pixel (%d, %d) is %06x, expected %06x",
                what, i % decoded.width(), i / decoded.width(), actual[i], expected[i]));
      }
    }
  }

  private static void assertRefused(byte[] png, Reason reason) {
    assertThatThrownBy(() -> PngDecoder.decode(png, ANY_SIZE))
        .isInstanceOf(ImageRefused.class)
        .satisfies(e -> assertThat(((ImageRefused) e).reason()).isEqualTo(reason));
  }

  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
        .getCurrentThreadAllocatedBytes();
  }

  /** The offset just past the last IDAT chunk (its CRC included). */
  private static int endOfLastIdat(byte[] png) {
    ByteBuffer b = ByteBuffer.wrap(png);
    int pos = 8;
    int end = -1;
    while (pos + 8 <= png.length) {
      int length = b.getInt(pos);
      String type = new String(png, pos + 4, 4, StandardCharsets.US_ASCII);
      pos += 12 + length;
      if (type.equals("IDAT")) {
        end = pos;
      }
    }
    return end;
  }

  /** A grey PNG of the given size whose IDAT holds its first rows of zeros, a few KB. */
  private static byte[] pngBomb(int width, int height) {
    byte[] ihdr = ihdrBody(width, height, 1, 0, 0);
    Deflater deflater = new Deflater(9);
    deflater.setInput(new byte[(int) Math.min((width / 8 + 2L) * 64, 1 << 22)]);
    deflater.finish();
    byte[] buffer = new byte[1 << 16];
    int n = deflater.deflate(buffer);
    deflater.end();
    return concat(
        concat(signatureAnd(chunk("IHDR", ihdr)), chunk("IDAT", Arrays.copyOf(buffer, n))),
        chunk("IEND", new byte[0]));
  }

  /** A signature and IHDR only. */
  private static byte[] header(int width, int height, int bitDepth, int colourType, int interlace) {
    return signatureAnd(chunk("IHDR", ihdrBody(width, height, bitDepth, colourType, interlace)));
  }

  private static byte[] ihdrBody(
      int width, int height, int bitDepth, int colourType, int interlace) {
    return ByteBuffer.allocate(13)
        .putInt(width)
        .putInt(height)
        .put((byte) bitDepth)
        .put((byte) colourType)
        .put((byte) 0)
        .put((byte) 0)
        .put((byte) interlace)
        .array();
  }

  private static byte[] signatureAnd(byte[] chunks) {
    return concat(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, chunks);
  }

  /** A PNG of the IHDR body, optional palette and filtered data, in IDATs of {@code split}. */
  private static byte[] png(byte[] ihdr, int[] palette, byte[] filtered, int split) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(signatureAnd(chunk("IHDR", ihdr)));
    if (palette != null) {
      byte[] plte = new byte[palette.length * 3];
      for (int i = 0; i < palette.length; i++) {
        plte[3 * i] = (byte) (palette[i] >> 16);
        plte[3 * i + 1] = (byte) (palette[i] >> 8);
        plte[3 * i + 2] = (byte) palette[i];
      }
      out.writeBytes(chunk("PLTE", plte));
    }
    Deflater deflater = new Deflater(6);
    deflater.setInput(filtered);
    deflater.finish();
    ByteArrayOutputStream zlib = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    while (!deflater.finished()) {
      zlib.write(buffer, 0, deflater.deflate(buffer));
    }
    deflater.end();
    byte[] compressed = zlib.toByteArray();
    for (int at = 0; at < compressed.length; at += split) {
      out.writeBytes(
          chunk(
              "IDAT", Arrays.copyOfRange(compressed, at, Math.min(compressed.length, at + split))));
    }
    out.writeBytes(chunk("IEND", new byte[0]));
    return out.toByteArray();
  }

  private static byte[] chunk(String type, byte[] data) {
    byte[] name = type.getBytes(StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(name);
    crc.update(data);
    return ByteBuffer.allocate(12 + data.length)
        .putInt(data.length)
        .put(name)
        .put(data)
        .putInt((int) crc.getValue())
        .array();
  }

  /** Recomputes the CRC of the chunk at {@code pos}. */
  private static byte[] withFixedCrc(byte[] png, int pos) {
    ByteBuffer b = ByteBuffer.wrap(png);
    int length = b.getInt(pos);
    CRC32 crc = new CRC32();
    crc.update(png, pos + 4, 4 + length);
    b.putInt(pos + 8 + length, (int) crc.getValue());
    return png;
  }

  private static byte[] insertAfterFirstChunk(byte[] png, byte[] chunk) {
    int at = 8 + 12 + ByteBuffer.wrap(png).getInt(8);
    return concat(concat(Arrays.copyOf(png, at), chunk), Arrays.copyOfRange(png, at, png.length));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * An image as PNG samples, with the pixels Pillow's {@code convert('RGB')} makes of them: a
   * small, independent PNG encoder (every filter type, Adam7) to test the decoder against.
   */
  private record Synthetic(
      int colourType, int bitDepth, int width, int height, int[][] samples, int[] palette) {

    private static final int[][] ADAM7 = {
      {0, 0, 8, 8},
      {4, 0, 8, 8},
      {0, 4, 4, 8},
      {2, 0, 4, 4},
      {0, 2, 2, 4},
      {1, 0, 2, 2},
      {0, 1, 1, 2}
    };

    static Synthetic random(int colourType, int bitDepth, int width, int height, Random random) {
      int channels =
          switch (colourType) {
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> 1;
          };
      int[] palette = null;
      if (colourType == 3) {
        // fewer entries than indices where it can be: those past the end are black
        palette = new int[Math.max(1, (1 << bitDepth) - 3)];
        for (int i = 0; i < palette.length; i++) {
          palette[i] = random.nextInt(1 << 24);
        }
      }
      int[][] samples = new int[width * height][channels];
      for (int[] pixel : samples) {
        for (int c = 0; c < channels; c++) {
          // 16-bit grey: half the samples below 256, where Pillow's clipping does not apply
          pixel[c] =
              colourType == 0 && bitDepth == 16 && random.nextBoolean()
                  ? random.nextInt(256)
                  : random.nextInt(1 << bitDepth);
        }
      }
      return new Synthetic(colourType, bitDepth, width, height, samples, palette);
    }

    static Synthetic grey16(int[] values) {
      int[][] samples = new int[values.length][];
      for (int i = 0; i < values.length; i++) {
        samples[i] = new int[] {values[i]};
      }
      return new Synthetic(0, 16, values.length, 1, samples, null);
    }

    /** Pillow 9.4's {@code convert('RGB')} of the samples. */
    int[] expected() {
      int[] rgb = new int[samples.length];
      for (int i = 0; i < samples.length; i++) {
        int[] s = samples[i];
        int grey =
            bitDepth == 16
                ? (colourType == 0 ? Math.min(s[0], 255) : s[0] >> 8)
                : bitDepth == 8 ? s[0] : s[0] * 255 / ((1 << bitDepth) - 1);
        rgb[i] =
            switch (colourType) {
              case 0, 4 -> grey << 16 | grey << 8 | grey;
              case 3 -> s[0] < palette.length ? palette[s[0]] : 0;
              default -> {
                int shift = bitDepth == 16 ? 8 : 0;
                yield (s[0] >> shift) << 16 | (s[1] >> shift) << 8 | (s[2] >> shift);
              }
            };
      }
      return rgb;
    }

    byte[] ihdr(boolean interlaced) {
      return ihdrBody(width, height, bitDepth, colourType, interlaced ? 1 : 0);
    }

    /** The PNG, in IDAT chunks of {@code split} bytes, with one filter or each in turn. */
    byte[] encode(boolean interlaced, int split, Integer filter) {
      return png(ihdr(interlaced), palette, filtered(interlaced, filter), split);
    }

    /** The filtered image data, one filter type on every row or each in turn (for null). */
    byte[] filtered(boolean interlaced, Integer filter) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int[][] passes = interlaced ? ADAM7 : new int[][] {{0, 0, 1, 1}};
      int bitsPerPixel = samples[0].length * bitDepth;
      int bpp = Math.max(1, bitsPerPixel / 8);
      int rowNumber = 0;
      for (int[] pass : passes) {
        int cols = width <= pass[0] ? 0 : (width - pass[0] + pass[2] - 1) / pass[2];
        int rows = height <= pass[1] ? 0 : (height - pass[1] + pass[3] - 1) / pass[3];
        if (cols == 0 || rows == 0) {
          continue;
        }
        byte[] previous = new byte[(cols * bitsPerPixel + 7) / 8];
        for (int j = 0; j < rows; j++) {
          byte[] row = new byte[previous.length];
          for (int i = 0; i < cols; i++) {
            int[] s = samples[(pass[1] + j * pass[3]) * width + pass[0] + i * pass[2]];
            for (int c = 0; c < s.length; c++) {
              putSample(row, i * s.length + c, s[c]);
            }
          }
          int type = filter != null ? filter : rowNumber++ % 5;
          out.write(type);
          out.writeBytes(filter(type, row, previous, bpp));
          previous = row;
        }
      }
      return out.toByteArray();
    }

    private void putSample(byte[] row, int index, int value) {
      if (bitDepth == 16) {
        row[2 * index] = (byte) (value >> 8);
        row[2 * index + 1] = (byte) value;
      } else if (bitDepth == 8) {
        row[index] = (byte) value;
      } else {
        int bit = index * bitDepth;
        row[bit / 8] |= (byte) (value << (8 - bitDepth - bit % 8));
      }
    }

    private static byte[] filter(int type, byte[] row, byte[] previous, int bpp) {
      byte[] out = new byte[row.length];
      for (int i = 0; i < row.length; i++) {
        int a = i >= bpp ? row[i - bpp] & 0xff : 0;
        int b = previous[i] & 0xff;
        int c = i >= bpp ? previous[i - bpp] & 0xff : 0;
        int predictor =
            switch (type) {
              case 0 -> 0;
              case 1 -> a;
              case 2 -> b;
              case 3 -> (a + b) / 2;
              default -> paeth(a, b, c);
            };
        out[i] = (byte) (row[i] - predictor);
      }
      return out;
    }

    /** The PNG specification's Paeth predictor, as written there. */
    private static int paeth(int a, int b, int c) {
      int p = a + b - c;
      int pa = Math.abs(p - a);
      int pb = Math.abs(p - b);
      int pc = Math.abs(p - c);
      if (pa <= pb && pa <= pc) {
        return a;
      }
      return pb <= pc ? b : c;
    }

    @Override
    public String toString() {
      return "colour type " + colourType + ", " + bitDepth + " bits, " + width + "x" + height;
    }
  }
}

package ai.ferretstream.bench;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.fusion.domain.FeatureJoin;
import ai.ferretstream.fusion.domain.FeatureMaps;
import ai.ferretstream.fusion.domain.Fusion;
import ai.ferretstream.fusion.domain.JoinBook;
import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.fusion.domain.UpsampleMode;
import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.ResizeMode;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Fusion's per-request tensor work, as the service does it, on dev-model sized features ({@code C =
 * 1024}, 24x24 patches per tile, FP16):
 *
 * <ul>
 *   <li>{@link #fusedMap}: what {@link Fusion} does for a request with regions: the image tokens
 *       (global map, then the merged local maps) and {@code H_a = H_l + upsample(H_g)} as FP16;
 *   <li>{@link #imageTokens}: a request without regions (the re-layout alone);
 *   <li>{@link #fuseRequest}: {@link Fusion#fuse} itself for a ready join with one box region and a
 *       region sampler that answers at once (no inference): the above plus the point sampling and
 *       building the {@code FusedContext}. It uses the default kernels, so run it with {@code -p
 *       kernels=vector} only.
 * </ul>
 *
 * {@code kernels}: {@code vector} (JDK Vector API) or {@code scalar} (plain loops). A {@code
 * -jvmArgsAppend} on the JMH command line replaces the one below: repeat {@code
 * --add-modules=jdk.incubator.vector} there (the set-up refuses to measure scalar kernels as vector
 * ones).
 *
 * <p>{@code java -cp benchmarks.jar ai.ferretstream.bench.FusionBenchmark --sizes} prints the
 * serialized size of the {@code FusedContext} that {@link Fusion#fuse} builds for every Ferret-v2
 * grid, as a Markdown table.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xms2g", "-Xmx2g"})
public class FusionBenchmark {

  /** Output channels of the dev encoders. */
  static final int CHANNELS = 1024;

  static final int PATCHES = 24;
  static final int TILE = 336;

  /** The Ferret-v2 grid list, {@code cols x rows}. */
  static final String[] FERRET_V2_GRIDS = {
    "1x1", "1x2", "2x1", "1x3", "3x1", "1x4", "4x1", "1x5", "5x1", "1x6", "6x1", "2x2", "2x3", "3x2"
  };

  /** {@code cols x rows}. */
  @Param({"1x1", "3x2", "2x3", "6x1"})
  public String grid;

  @Param({"nearest", "bilinear"})
  public String mode;

  @Param({"vector", "scalar"})
  public String kernels;

  private int cols;
  private int rows;
  private UpsampleMode upsample;
  private boolean simd;
  private ByteString global;
  private List<ByteString> locals;
  private Fusion fusion;
  private FeatureJoin join;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    int[] g = parseGrid(grid);
    cols = g[0];
    rows = g[1];
    upsample = UpsampleMode.valueOf(mode.toUpperCase(Locale.ROOT));
    simd = kernels.equals("vector");
    String actual = FeatureMaps.kernelsName(simd);
    if (!actual.startsWith(kernels)) {
      // e.g. -jvmArgsAppend on the command line replaced --add-modules: never measure the wrong one
      throw new IllegalStateException("asked for " + kernels + " kernels but got " + actual);
    }
    if (params.getBenchmark().endsWith("fuseRequest") && !FeatureMaps.kernels().equals(actual)) {
      throw new IllegalStateException("fuseRequest always uses " + FeatureMaps.kernels());
    }
    List<TileFeatures> tiles = features(cols, rows, CHANNELS, true, 42);
    global = tiles.get(0).getFeaturesFp16();
    locals = new ArrayList<>();
    for (TileFeatures t : tiles.subList(1, tiles.size())) {
      locals.add(t.getFeaturesFp16());
    }
    fusion = new Fusion(upsample, instantSampler(CHANNELS), Clock.systemUTC());
    join = readyJoin(tiles);
  }

  @Benchmark
  public byte[] fusedMap(Blackhole bh) {
    byte[] tokens = ImageTokens.of(global, locals, rows, cols, PATCHES, PATCHES, CHANNELS);
    bh.consume(tokens);
    return FeatureMaps.fusedMapFp16(
        tokens,
        0,
        PATCHES,
        PATCHES,
        global.size(),
        rows * PATCHES,
        cols * PATCHES,
        CHANNELS,
        upsample,
        null,
        simd);
  }

  @Benchmark
  public byte[] imageTokens() {
    return ImageTokens.of(global, locals, rows, cols, PATCHES, PATCHES, CHANNELS);
  }

  @Benchmark
  public FusedContext fuseRequest() throws InterruptedException {
    return fusion.fuse(join);
  }

  // ------------------------------------------------------------------------------------------

  static int[] parseGrid(String grid) {
    String[] parts = grid.split("x");
    return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
  }

  static GridLayout layout(int cols, int rows) {
    // an image of the grid's aspect ratio, a little larger than the canvas (a typical photo)
    int width = cols * 480;
    int height = rows * 480;
    return GridLayout.newBuilder()
        .setImageWidth(width)
        .setImageHeight(height)
        .setCols(cols)
        .setRows(rows)
        .setTileSize(TILE)
        .setCanvasWidth(cols * TILE)
        .setCanvasHeight(rows * TILE)
        .setMode(ResizeMode.RESIZE_MODE_STRETCH)
        .setContentWidth(cols * TILE)
        .setContentHeight(rows * TILE)
        .build();
  }

  /** A request context as the gateway and the stages before fusion fill it. */
  static RequestContext context(int cols, int rows, boolean region) {
    long now = 1_760_000_000_000L;
    RequestContext.Builder b =
        RequestContext.newBuilder()
            .setRequestId("3f6c2a4e-9b1d-4c57-8e0a-5d2f7b91c6e3")
            .setDeadlineUnixMs(now + 60_000)
            .setCreatedUnixMs(now)
            .setReplyTo(
                ReplyTo.newBuilder()
                    .setTopic("ferret.answers")
                    .setPartition(3)
                    .setInstance("gateway-7d9f"))
            .setPrompt(
                region
                    ? "What is the object in this region <region_fea> and what is it used for?"
                    : "Describe the image in detail.")
            .setModel("ferret-v2-7b")
            .putTimings("gateway.accepted", now)
            .putTimings("tiler.done", now + 40)
            .putTimings("encoder.done", now + 140);
    if (region) {
      b.addRegions(
          Region.newBuilder()
              .setSpace(CoordinateSpace.COORDINATE_SPACE_PIXELS)
              .setBox(Box.newBuilder().setX1(40).setY1(60).setX2(cols * 200).setY2(rows * 180)));
    }
    return b.build();
  }

  /** The global record, then the local records in tile order, as the encoder publishes them. */
  static List<TileFeatures> features(int cols, int rows, int channels, boolean region, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    RequestContext context = context(cols, rows, region);
    GridLayout layout = layout(cols, rows);
    List<TileFeatures> out = new ArrayList<>();
    for (int k = -1; k < cols * rows; k++) {
      byte[] fp16 = new byte[PATCHES * PATCHES * channels * 2];
      for (int i = 0; i < fp16.length; i += 2) {
        short h = Fp16.fromFloat((float) (random.nextGaussian() * 1.5));
        fp16[i] = (byte) h;
        fp16[i + 1] = (byte) (h >>> 8);
      }
      boolean isGlobal = k < 0;
      out.add(
          TileFeatures.newBuilder()
              .setContext(context)
              .setKind(isGlobal ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL)
              .setIndex(isGlobal ? 0 : k)
              .setLocalCount(cols * rows)
              .setLayout(layout)
              .setModel(isGlobal ? "clip_vision" : "dinov2_vision")
              .setPatchRows(PATCHES)
              .setPatchCols(PATCHES)
              .setChannels(channels)
              .setFeaturesFp16(ByteString.copyFrom(fp16))
              .build());
    }
    return out;
  }

  static FeatureJoin readyJoin(List<TileFeatures> tiles) {
    JoinBook book = new JoinBook(4, 60_000, 16, 60_000, new OffsetTracker());
    SourcePartition partition = new SourcePartition("ferret.features", 0);
    long now = tiles.get(0).getContext().getCreatedUnixMs();
    JoinBook.Offer last = null;
    for (int i = 0; i < tiles.size(); i++) {
      last = book.offer(tiles.get(i), partition, i, now);
    }
    if (last == null || last.status() != JoinBook.Status.READY) {
      throw new IllegalStateException("join not ready: " + (last == null ? null : last.status()));
    }
    return last.join();
  }

  /** A region sampler that answers at once with a fixed FP16 embedding of {@code channels}. */
  static RegionSampler instantSampler(int channels) {
    byte[] embedding = new byte[channels * 2];
    for (int i = 0; i < channels; i++) {
      short h = Fp16.fromFloat(i / (float) channels);
      embedding[2 * i] = (byte) h;
      embedding[2 * i + 1] = (byte) (h >>> 8);
    }
    RegionSampler.Embedding e =
        new RegionSampler.Embedding(channels, ByteString.copyFrom(embedding));
    return (context, map, points, fpsStart) -> e;
  }

  /**
   * {@code --sizes}: the serialized FusedContext per Ferret-v2 grid, as a Markdown table; {@code
   * --kernels}: the kernels fusion uses in this JVM.
   */
  public static void main(String[] args) throws InterruptedException {
    if (args.length == 1 && args[0].equals("--kernels")) {
      System.out.println(FeatureMaps.kernels());
      return;
    }
    if (args.length != 1 || !args[0].equals("--sizes")) {
      System.err.println(
          "usage: FusionBenchmark --sizes | --kernels   (run the benchmarks through JMH)");
      System.exit(2);
    }
    System.out.println(
        "| grid (cols x rows) | tiles N | image tokens (1+N)*576 | image_tokens_fp16 bytes"
            + " | FusedContext bytes, no region | FusedContext bytes, 1 region"
            + " | rest of the message |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|");
    for (String grid : FERRET_V2_GRIDS) {
      int[] g = parseGrid(grid);
      int n = g[0] * g[1];
      long tokens = (long) (1 + n) * PATCHES * PATCHES;
      long tokenBytes = tokens * CHANNELS * 2;
      // the fused message as Fusion.fuse builds it (C = 1024; the dev region sampler gives 1024)
      Fusion fusion = new Fusion(UpsampleMode.NEAREST, instantSampler(CHANNELS), Clock.systemUTC());
      FusedContext plain = fusion.fuse(readyJoin(features(g[0], g[1], CHANNELS, false, 7)));
      FusedContext withRegion = fusion.fuse(readyJoin(features(g[0], g[1], CHANNELS, true, 7)));
      if (plain.getImageTokensFp16().size() != tokenBytes) {
        throw new IllegalStateException("unexpected image token bytes for " + grid);
      }
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %d | %,d | %,d | %,d | %d |%n",
          grid,
          n,
          tokens,
          tokenBytes,
          plain.getSerializedSize(),
          withRegion.getSerializedSize(),
          plain.getSerializedSize() - tokenBytes);
    }
  }
}

package ai.ferretstream.bench;

import ai.ferretstream.tiler.domain.GridSelector;
import ai.ferretstream.tiler.domain.ImageTiler;
import ai.ferretstream.tiler.domain.ImageTiler.TiledImage;
import ai.ferretstream.tiler.domain.ResizeMode;
import ai.ferretstream.tiler.domain.decode.ImageDecoder;
import ai.ferretstream.tiler.domain.resample.BicubicResampler;
import ai.ferretstream.tiler.domain.resample.Parallelism;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The tiler's whole per-image work, as the service does it: decode (EXIF included), grid choice,
 * bicubic resampling of the global view and the canvas, cutting the tiles to RGB bytes. The same
 * work as {@code tiler-service/bench/pillow_bench.py} does with Pillow on the same files.
 *
 * <ul>
 *   <li>{@code kernels}: {@code vector} (JDK Vector API) or {@code scalar} (plain loops);
 *   <li>{@code threads}: threads one image may use ({@code 1} = the per-core figure).
 * </ul>
 *
 * <p>Images come from {@code -Dbench.images=DIR} (default {@code target/bench-images}). A {@code
 * -jvmArgsAppend} on the JMH command line replaces the one below: repeat {@code
 * --add-modules=jdk.incubator.vector} there (the set-up refuses to measure scalar kernels as vector
 * ones).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xms1g", "-Xmx1g"})
public class TilerBenchmark {

  @Param({"photo-1920x1080.jpg", "photo-4032x3024.jpg", "photo-1000x1000.png"})
  public String image;

  @Param({"vector"})
  public String kernels;

  @Param({"1"})
  public int threads;

  private byte[] encoded;
  private ImageDecoder decoder;
  private ImageTiler tiler;
  private Parallelism parallelism;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    Path dir = Path.of(System.getProperty("bench.images", "target/bench-images"));
    encoded = Files.readAllBytes(dir.resolve(image));
    decoder = new ImageDecoder(100L << 20, 100_000_000L);
    parallelism = Parallelism.of(threads);
    BicubicResampler resampler = BicubicResampler.create(kernels.equals("vector"), parallelism);
    if (!resampler.kernels().startsWith(kernels)) {
      // e.g. -jvmArgsAppend on the command line replaced --add-modules: never measure the wrong one
      throw new IllegalStateException(
          "asked for " + kernels + " kernels but got " + resampler.kernels());
    }
    tiler =
        new ImageTiler(
            GridSelector.of(GridSelector.FERRET_V2, GridSelector.DEFAULT_TILE_SIZE),
            ResizeMode.STRETCH,
            resampler);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    parallelism.close();
  }

  @Benchmark
  public TiledImage decodeAndTile() {
    return tiler.tile(decoder.decode(encoded));
  }
}

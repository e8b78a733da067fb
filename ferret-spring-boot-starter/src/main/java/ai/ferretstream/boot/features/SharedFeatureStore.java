package ai.ferretstream.boot.features;

import ai.ferretstream.boot.task.PeriodicTask;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host-local feature store (ADR 0011): feature records as files in a directory of shared memory
 * ({@code /dev/shm}) that the encoders, fusion and the llm of one host (one {@code ./ferret up}, or
 * one pod whose containers share a memory volume) all see. An encoder writes a batch's maps there
 * and publishes only the notices, which name the files; fusion and the llm map the files and copy
 * the maps out. The multi-MB maps then cross no socket and no broker.
 *
 * <p>A file holds the whole {@code TileFeatures} record: its length-prefixed head (the record less
 * its maps, serialized), then the maps' bytes. A reader checks that it is the named piece of its
 * request exactly as it checks a Kafka record ({@link FeatureRecords#named}). Files are written
 * under a random name and only named in a notice once complete.
 *
 * <p>The tiler writes a request's tiles here too ({@link #writeTile}, ADR 0012): one file per tile
 * holding its RGB bytes alone, named after the request, kind and index, so that any stage can name
 * a request's tile files from the request id and grid.
 *
 * <p>Life cycle: the llm removes a request's files, maps and tiles, once its answer is on the
 * broker ({@link #release}, {@link #releaseTiles}); files nobody released (a request that failed or
 * expired before the llm, tokens by value) are removed {@code ttl} after they were written. The
 * store never removes a file a reader may still need: when it holds {@code maxBytes}, or the file
 * system has no room, {@link #write} returns {@code null} and the writer publishes the record to
 * Kafka instead. A feature file that is gone when it is read ({@code ttl} passed, or the notice
 * came from another host) is {@code features_expired}, a tile file {@code tile_expired}: never
 * another request's data. The tiler also removes the tile files of a request whose tiles it could
 * not publish, and the llm those of a request that expired before generation.
 */
public final class SharedFeatureStore extends PeriodicTask {

  private static final Logger log = LoggerFactory.getLogger(SharedFeatureStore.class);

  /**
   * Files and the directory this store creates are its user's alone (the services of a pipeline run
   * as one user): the maps describe users' images.
   */
  private static final boolean POSIX =
      java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  private static final Set<PosixFilePermission> OWNER_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<StandardOpenOption> CREATE =
      Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  private static final StandardOpenOption READ = StandardOpenOption.READ;

  /**
   * The names this store writes and will read or remove, nothing else in the directory: feature
   * records, tiles (request digest, then {@code g} for the global tile or {@code l<index>}), and
   * tiles being written.
   */
  private static final Pattern NAME =
      Pattern.compile("tf-[0-9a-f]{32}|tile-[0-9a-f]{32}-(g|l[0-9]{1,5})|tmp-[0-9a-f]{32}");

  private static final Pattern FEATURE_NAME = Pattern.compile("tf-[0-9a-f]{32}");

  private final Path directory;
  private final FileStore fileStore;
  private final long maxBytes;
  private final Duration ttl;
  private final Clock clock;

  /**
   * Bytes of the files in the directory: recounted by each sweep, kept up by this store's writes
   * and removals between (not by other services').
   */
  private final AtomicLong used = new AtomicLong();

  private static final long RECOUNT_MILLIS = 100;
  private volatile long lastCount = System.nanoTime() - RECOUNT_MILLIS * 1_000_000L;

  private final Map<String, Counter> writes = new ConcurrentHashMap<>();
  private final Map<String, Counter> tileWrites = new ConcurrentHashMap<>();
  private final Counter released;
  private final Counter expired;
  private final MeterRegistry meters;

  /**
   * @param directory where the files lie; created if missing
   * @param maxBytes most bytes of files the store holds before writers fall back to Kafka
   * @param ttl how long after its writing an unreleased file is removed; longer than any request
   *     may take to reach the llm (its deadline, queueing, a redelivery after a crash)
   * @param clock time source of the sweeps
   * @param meters metrics registry
   */
  public SharedFeatureStore(
      Path directory, long maxBytes, Duration ttl, Clock clock, MeterRegistry meters) {
    super("shared-feature-store-sweeper", sweepInterval(ttl));
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
    }
    this.directory = directory;
    this.maxBytes = maxBytes;
    this.ttl = ttl;
    this.clock = clock;
    this.meters = meters;
    try {
      if (POSIX) {
        Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(OWNER_DIRECTORY));
      } else {
        Files.createDirectories(directory);
      }
      // looked up once: finding a path's file store reads the mount table
      fileStore = Files.getFileStore(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the shared feature store " + directory, e);
    }
    Gauge.builder("ferret.features.shared.bytes", used, AtomicLong::get)
        .description("Bytes of feature and tile files in the shared-memory store")
        .baseUnit("bytes")
        .register(meters);
    this.released = removed("released");
    this.expired = removed("expired");
    sweep();
  }

  /** A tenth of the ttl, between 1 and 30 seconds. */
  private static Duration sweepInterval(Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive: " + ttl);
    }
    long millis = Math.max(1_000, Math.min(30_000, ttl.toMillis() / 10));
    return Duration.ofMillis(millis);
  }

  public Path directory() {
    return directory;
  }

  /**
   * Writes {@code record} (with its maps) to a new file and returns where it lies, or {@code null}
   * when the store is full or the write failed: the caller then publishes the record to Kafka. The
   * record is not serialized into a new array: its head and its maps are written as they lie.
   */
  public FeatureRef write(TileFeatures record) {
    return write(
        record.toBuilder().clearFeaturesFp16().build(),
        record.getFeaturesFp16().asReadOnlyByteBufferList());
  }

  /**
   * As {@link #write(TileFeatures)}, for maps that lie in a buffer (a shared-memory slot): {@code
   * head} is the record without its maps, {@code maps} its FP16 bytes, written from where they lie.
   */
  public FeatureRef write(TileFeatures head, ByteBuffer maps) {
    if (!head.getFeaturesFp16().isEmpty()) {
      throw new IllegalArgumentException("the head of a record carries its maps already");
    }
    return write(head, List.of(maps.duplicate()));
  }

  private FeatureRef write(TileFeatures head, List<ByteBuffer> maps) {
    List<ByteBuffer> parts = new ArrayList<>(maps.size() + 1);
    parts.add(ByteBuffer.wrap(header(head)));
    parts.addAll(maps);
    String name = "tf-" + randomHex();
    String outcome = writeFile(directory.resolve(name), parts);
    count(writes, "ferret.features.shared.writes", "Feature records", outcome);
    return outcome.equals(STORED) ? FeatureRecords.sharedRef(head, name) : null;
  }

  /**
   * The name of the file that holds the RGB bytes of tile ({@code kind}, {@code index}) of request
   * {@code requestId}: derived from a digest of the request id, so every stage can name a request's
   * tile files and a redelivered request's tiles replace its earlier ones.
   */
  public static String tileFileName(String requestId, TileKind kind, int index) {
    byte[] digest;
    try {
      digest =
          MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    return "tile-"
        + HexFormat.of().formatHex(digest, 0, 16)
        + (kind == TileKind.TILE_KIND_GLOBAL ? "-g" : "-l" + index);
  }

  /**
   * Writes the RGB bytes of tile ({@code kind}, {@code index}) of request {@code requestId} as they
   * lie in {@code rgb} and returns the file's name ({@link #tileFileName}), or {@code null} when
   * the store is full or the write failed: the tile then carries its bytes. The file is written
   * under a temporary name and renamed once complete, replacing the tile of an earlier delivery of
   * the same request.
   */
  public String writeTile(String requestId, TileKind kind, int index, ByteBuffer rgb) {
    String name = tileFileName(requestId, kind, index);
    Path temporary = directory.resolve("tmp-" + randomHex());
    long size = rgb.remaining();
    String outcome = writeFile(temporary, List.of(rgb.duplicate()));
    if (outcome.equals(STORED)) {
      Path file = directory.resolve(name);
      try {
        // an earlier delivery's tile is replaced: its bytes are no longer in the store
        long replaced = Files.exists(file) ? Files.size(file) : 0;
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        used.addAndGet(-replaced);
      } catch (IOException e) {
        log.warn("could not name the tile file {} in {}: {}", name, directory, e.toString());
        deleteQuietly(temporary);
        used.addAndGet(-size);
        outcome = "failed";
      }
    }
    count(tileWrites, "ferret.tiles.shared.writes", "Tiles", outcome);
    return outcome.equals(STORED) ? name : null;
  }

  /**
   * The RGB bytes of {@code tile} of request {@code requestId}, mapped read-only from the file it
   * names (no copy), checked to be {@code expectedBytes} long.
   *
   * @throws PermanentFailure {@code invalid_tile} when the tile names a file other than the store's
   *     for that tile of that request, or the file has the wrong length; {@code tile_expired} when
   *     the file is gone (its request was answered, its ttl passed, or it was tiled on another
   *     host)
   */
  public ByteBuffer readTile(String requestId, Tile tile, long expectedBytes) {
    String expected = tileFileName(requestId, tile.getKind(), tile.getIndex());
    if (!expected.equals(tile.getRgbSharedFile())) {
      throw new PermanentFailure(
          "invalid_tile",
          "the tile names the shared-memory file '"
              + tile.getRgbSharedFile()
              + "'; the file of "
              + tile.getKind()
              + " tile "
              + tile.getIndex()
              + " of request "
              + requestId
              + " is "
              + expected);
    }
    return map(
        directory.resolve(expected),
        expectedBytes,
        () ->
            new PermanentFailure(
                "tile_expired",
                "the tile file "
                    + expected
                    + " is not in the shared-memory store "
                    + directory
                    + ": its request was answered or failed, it was removed after "
                    + ttl
                    + ", or it was written on another host"),
        "invalid_tile");
  }

  /**
   * {@code file} mapped read-only, checked to be {@code expectedBytes} long (unless negative).
   *
   * @throws PermanentFailure {@code gone} when the file does not exist; {@code invalidCode} when it
   *     has another length or cannot be read (permissions, a failed mapping): a deployment error
   *     that retrying would not mend
   */
  private static ByteBuffer map(
      Path file, long expectedBytes, Supplier<PermanentFailure> gone, String invalidCode) {
    try (FileChannel channel = FileChannel.open(file, READ)) {
      long size = channel.size();
      if (expectedBytes >= 0 && size != expectedBytes) {
        throw new PermanentFailure(
            invalidCode,
            "the file "
                + file.getFileName()
                + " has "
                + size
                + " bytes, expected "
                + expectedBytes);
      }
      return channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
    } catch (NoSuchFileException e) {
      throw gone.get();
    } catch (IOException e) {
      throw new PermanentFailure(
          invalidCode, "cannot read the file " + file.getFileName() + ": " + e.getMessage());
    }
  }

  /** Removes the tile files of a request with {@code localCount} local tiles (it is answered). */
  public void releaseTiles(String requestId, int localCount) {
    remove(directory.resolve(tileFileName(requestId, TileKind.TILE_KIND_GLOBAL, 0)), released);
    for (int k = 0; k < localCount; k++) {
      remove(directory.resolve(tileFileName(requestId, TileKind.TILE_KIND_LOCAL, k)), released);
    }
  }

  private static final String STORED = "stored";

  /**
   * Writes {@code parts} to the new file {@code file} unless that would take the store over its
   * limit or the file system has no room; returns the outcome: {@code stored}, {@code full}, {@code
   * no_space} or {@code failed} (nothing is left behind but {@code stored}).
   */
  private String writeFile(Path file, List<ByteBuffer> parts) {
    long size = 0;
    for (ByteBuffer part : parts) {
      size += part.remaining();
    }
    if (used.get() + size > maxBytes && (!recount() || used.get() + size > maxBytes)) {
      return "full";
    }
    try {
      if (fileStore.getUsableSpace() < size) {
        return "no_space";
      }
      try (FileChannel channel =
          POSIX
              ? FileChannel.open(file, CREATE, PosixFilePermissions.asFileAttribute(OWNER_FILE))
              : FileChannel.open(file, CREATE)) {
        ByteBuffer[] buffers = parts.toArray(ByteBuffer[]::new);
        long left = size;
        while (left > 0) {
          left -= channel.write(buffers);
        }
      }
    } catch (IOException e) {
      log.warn("could not write {} to {}: {}", file.getFileName(), directory, e.toString());
      deleteQuietly(file);
      return "failed";
    }
    used.addAndGet(size);
    return STORED;
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // the sweep removes it
    }
  }

  static String randomHex() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  /**
   * The record {@code ref} names (the file mapped, its maps copied out once), checked to be the
   * named piece of request {@code requestId}.
   *
   * @throws PermanentFailure {@code features_expired} when the file is gone, {@code
   *     invalid_features} when the name is not one of this store's or the file is not the piece
   */
  public TileFeatures read(String requestId, FeatureRef ref) {
    FeatureReader.Maps read = readMaps(requestId, ref);
    return read.head().toBuilder().setFeaturesFp16(read.maps().toByteString()).build();
  }

  /**
   * The record {@code ref} names less its maps, and the maps where they lie: a view of the mapped
   * file, not a copy (protobuf-java 4 would copy them into the heap when wrapping them, as {@link
   * #read} does), valid until the file is released. Checked as {@link #read} checks.
   *
   * @throws PermanentFailure as {@link #read}
   */
  public FeatureReader.Maps readMaps(String requestId, FeatureRef ref) {
    Path file = file(ref);
    ByteBuffer mapped =
        map(
            file,
            -1,
            () ->
                new PermanentFailure(
                    "features_expired",
                    "the feature file "
                        + ref.getSharedFile()
                        + " is not in the shared-memory feature store "
                        + directory
                        + ": removed after "
                        + ttl
                        + " (a cached image's: evicted), or written on another host"),
            "invalid_features");
    FeatureReader.Maps value;
    try {
      value = parse(mapped);
    } catch (IOException | RuntimeException e) {
      throw new PermanentFailure(
          "invalid_features",
          "the feature file "
              + ref.getSharedFile()
              + " is not a feature record: "
              + e.getMessage());
    }
    TileFeatures head =
        FeatureCache.isCacheFile(ref.getSharedFile())
            // an image's cached maps: the piece of the image its name says (ADR 0018)
            ? FeatureCache.named(value.head(), ref)
            : FeatureRecords.named(value.head(), ref, requestId);
    return new FeatureReader.Maps(head, value.maps());
  }

  /** Removes the files among {@code refs} (those of a finished request); others are ignored. */
  public void release(List<FeatureRef> refs) {
    for (FeatureRef ref : refs) {
      if (FeatureRecords.isShared(ref) && FEATURE_NAME.matcher(ref.getSharedFile()).matches()) {
        remove(directory.resolve(ref.getSharedFile()), released);
      }
    }
  }

  @Override
  protected void runOnce() {
    sweep();
  }

  /**
   * Counts the files again, unless that was done in the last {@value #RECOUNT_MILLIS} ms; returns
   * whether it did. Other services (the llm) remove files, so this store's own count only grows
   * between sweeps: a writer that finds the store full counts again before it says so.
   */
  private boolean recount() {
    long now = System.nanoTime();
    if (now - lastCount < RECOUNT_MILLIS * 1_000_000L) {
      return false;
    }
    sweep();
    return true;
  }

  /** Removes the files older than the ttl and recounts the bytes of the others. */
  public synchronized void sweep() {
    lastCount = System.nanoTime();
    long oldest = clock.millis() - ttl.toMillis();
    long total = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
      for (Path file : files) {
        if (!NAME.matcher(file.getFileName().toString()).matches()) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException gone) {
          continue;
        }
        if (attributes.lastModifiedTime().toMillis() < oldest) {
          remove(file, expired);
        } else {
          total += attributes.size();
        }
      }
    } catch (IOException e) {
      log.warn("could not sweep the shared feature store {}: {}", directory, e.toString());
      return;
    }
    used.set(total);
  }

  /** Bytes the file system of the store's directory has free for this user. */
  long fileStoreSpace() throws IOException {
    return fileStore.getUsableSpace();
  }

  /** Bytes of files in the store, as last counted. */
  public long usedBytes() {
    return used.get();
  }

  private void remove(Path file, Counter reason) {
    try {
      long size = Files.size(file);
      if (Files.deleteIfExists(file)) {
        used.addAndGet(-size);
        reason.increment();
      }
    } catch (NoSuchFileException gone) {
      // removed by another reader or sweep
    } catch (IOException e) {
      log.warn("could not remove the feature file {}: {}", file, e.toString());
    }
  }

  private Path file(FeatureRef ref) {
    String name = ref.getSharedFile();
    if (!FEATURE_NAME.matcher(name).matches() && !FeatureCache.isCacheFile(name)) {
      throw new PermanentFailure(
          "invalid_features", "'" + name + "' is not the name of a shared-memory feature file");
    }
    return directory.resolve(name);
  }

  /**
   * A file's head: the length of the record less its maps (4 bytes, big-endian), then that record
   * serialized; the maps' bytes follow it to the end of the file.
   */
  static byte[] header(TileFeatures head) {
    byte[] rest = head.toByteArray();
    return ByteBuffer.allocate(4 + rest.length).putInt(rest.length).put(rest).array();
  }

  /**
   * The record a file holds, less its maps, and the maps: cut out of the mapping rather than
   * parsed, a view (protobuf-java 4 copies any buffer that is not an array when it wraps or parses
   * one).
   */
  private static FeatureReader.Maps parse(ByteBuffer file) throws IOException {
    if (file.remaining() < 4) {
      throw new IOException("shorter than its head");
    }
    int length = file.getInt(0);
    if (length < 0 || length > file.remaining() - 4) {
      throw new IOException("its head says " + length + " bytes, it has " + file.remaining());
    }
    byte[] rest = new byte[length];
    file.get(4, rest);
    TileFeatures head = TileFeatures.parseFrom(rest);
    ByteBuffer maps = file.slice(4 + length, file.remaining() - 4 - length);
    return new FeatureReader.Maps(head, TensorBytes.of(maps));
  }

  private void count(Map<String, Counter> counters, String name, String what, String outcome) {
    counters
        .computeIfAbsent(
            outcome,
            o ->
                Counter.builder(name)
                    .description(
                        what
                            + " offered to the shared-memory store, by outcome (all but stored went"
                            + " to Kafka)")
                    .tag("outcome", o)
                    .register(meters))
        .increment();
  }

  private Counter removed(String reason) {
    return Counter.builder("ferret.features.shared.removed")
        .description(
            "Feature and tile files removed: released after the answer, or expired after the ttl")
        .tag("reason", reason)
        .register(meters);
  }
}

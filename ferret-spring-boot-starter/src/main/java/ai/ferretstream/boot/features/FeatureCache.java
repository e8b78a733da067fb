package ai.ferretstream.boot.features;

import ai.ferretstream.boot.task.PeriodicTask;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feature cache (ADR 0018): the feature maps of an image, kept in the host-local shared-memory
 * store ({@link SharedFeatureStore}) under names derived from a digest of everything that changes
 * them ({@link FeatureCacheKey}), so that a follow-up question about the same image is neither
 * tiled nor encoded again.
 *
 * <ul>
 *   <li>An encoder that encodes a tile of a request carrying a key (not a hit) stores the tile's
 *       record here ({@link #store}) and names the file in its notice; the file is written under a
 *       temporary name and renamed, so a reader never sees half of it.
 *   <li>The tiler looks a request's key up ({@link #lookup}): when the global map and all the local
 *       maps it names are there, it publishes their notices itself and the request skips the
 *       tiler's resize and both encoders.
 *   <li>Fusion and the llm read the files like any feature file ({@link
 *       SharedFeatureStore#readMaps}, which checks that a cache file holds the piece its name says,
 *       of the image its name says). Nobody releases them after an answer.
 * </ul>
 *
 * <p>Bounds: entries unused for {@code ttl} are removed by a sweep; when a write would take the
 * cache over {@code maxBytes}, the least recently used entries are evicted first. An entry used (a
 * file written or a hit) in the last {@code pinnedFor} is never evicted: requests that named its
 * files may still be reading them. When nothing can be evicted the write is refused and the encoder
 * stores the maps per request, as without a cache. A lookup that does not find every file is a
 * miss, and the request takes the full path: a miss is never an error.
 */
public final class FeatureCache extends PeriodicTask {

  private static final Logger log = LoggerFactory.getLogger(FeatureCache.class);

  /** {@code fc-<digest>-g} or {@code fc-<digest>-l<index>}. */
  static final Pattern NAME = Pattern.compile("fc-([0-9a-f]{64})-(g|l([0-9]{1,5}))");

  private static final Pattern TEMPORARY = Pattern.compile("fct-[0-9a-f]{32}");
  private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{64}");

  /**
   * Serializes hit marking and eviction among the threads of this JVM; {@link #LOCK_FILE} among
   * processes (a {@link java.nio.channels.FileLock} is held per JVM, not per thread).
   */
  private static final Object JVM_LOCK = new Object();

  private static final String LOCK_FILE = "fc.lock";

  private final SharedFeatureStore store;
  private final Path directory;
  private final long maxBytes;
  private final Duration ttl;
  private final Duration pinnedFor;
  private final Clock clock;
  private final MeterRegistry meters;

  /** Bytes of cache files as last counted, kept up by this instance's writes and removals. */
  private final AtomicLong bytes = new AtomicLong();

  private final AtomicLong entries = new AtomicLong();
  private final Counter hits;
  private final Counter misses;
  private final Counter evictedForBytes;
  private final Counter expired;
  private final Map<String, Counter> writes = new ConcurrentHashMap<>();

  /**
   * @param store the shared-memory store whose directory holds the cache files
   * @param maxBytes most bytes of cache files
   * @param ttl an entry not used for this long is removed
   * @param pinnedFor an entry used this recently is never evicted to make room (longer than a
   *     request takes from its lookup to the llm's read: its deadline and queueing)
   * @param clock time source of last use
   * @param meters metrics registry
   */
  public FeatureCache(
      SharedFeatureStore store,
      long maxBytes,
      Duration ttl,
      Duration pinnedFor,
      Clock clock,
      MeterRegistry meters) {
    super("feature-cache-sweeper", sweepInterval(ttl));
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
    }
    if (pinnedFor.isNegative() || pinnedFor.compareTo(ttl) > 0) {
      throw new IllegalArgumentException(
          "pinned-for (" + pinnedFor + ") must be between 0 and the ttl (" + ttl + ")");
    }
    this.store = store;
    this.directory = store.directory();
    this.maxBytes = maxBytes;
    this.ttl = ttl;
    this.pinnedFor = pinnedFor;
    this.clock = clock;
    this.meters = meters;
    this.hits = lookups("hit");
    this.misses = lookups("miss");
    this.evictedForBytes = evictions("bytes");
    this.expired = evictions("age");
    Gauge.builder("ferret.feature.cache.bytes", bytes, AtomicLong::get)
        .description("Bytes of feature maps in the feature cache, as last counted")
        .baseUnit("bytes")
        .register(meters);
    Gauge.builder("ferret.feature.cache.entries", entries, AtomicLong::get)
        .description("Images in the feature cache, as last counted")
        .register(meters);
    sweep();
  }

  private static Duration sweepInterval(Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive: " + ttl);
    }
    return Duration.ofMillis(Math.max(1_000, Math.min(30_000, ttl.toMillis() / 10)));
  }

  /** The name of the cache file of piece ({@code kind}, {@code index}) of image {@code digest}. */
  public static String fileName(String digest, TileKind kind, int index) {
    if (!DIGEST.matcher(digest).matches()) {
      throw new IllegalArgumentException("not a hex SHA-256 digest: '" + digest + "'");
    }
    return "fc-" + digest + (kind == TileKind.TILE_KIND_GLOBAL ? "-g" : "-l" + index);
  }

  /** Whether {@code name} is the name of a cache file. */
  public static boolean isCacheFile(String name) {
    return NAME.matcher(name).matches();
  }

  /**
   * Whether an encoder serving {@code model} (its name, and version unless empty) may store
   * features under {@code key} for the role whose model {@code keyModel} names: the key was made
   * for that model.
   */
  public static boolean serves(String keyModel, String model, String version) {
    return keyModel.equals(version.isEmpty() ? model : model + "@" + version);
  }

  /**
   * Stores one piece of the features of the image {@code key} names: {@code head} is the record
   * without its maps, {@code maps} its FP16 bytes, written as they lie. The file's record carries
   * only the key of the request's context (no question, no request id: an image's features are not
   * one user's request). Returns where it lies, or {@code null} when the cache cannot take it (the
   * caller stores the maps per request).
   */
  public FeatureRef store(FeatureCacheKey key, TileFeatures head, ByteBuffer maps) {
    String name = fileName(key.getDigest(), head.getKind(), head.getIndex());
    TileFeatures cached =
        head.toBuilder()
            .setContext(RequestContext.newBuilder().setFeatureCache(key.toBuilder().setHit(false)))
            .clearStoredAt()
            .clearFeaturesBytes()
            .build();
    byte[] header = SharedFeatureStore.header(cached);
    long size = header.length + (long) maps.remaining();
    if (bytes.get() + size > maxBytes && !makeRoom(size)) {
      count("full");
      return null;
    }
    Path temporary = directory.resolve("fct-" + SharedFeatureStore.randomHex());
    try {
      if (store.fileStoreSpace() < size) {
        count("no_space");
        return null;
      }
      try (FileChannel channel =
          FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer[] parts = {ByteBuffer.wrap(header), maps.duplicate()};
        long left = size;
        while (left > 0) {
          left -= channel.write(parts);
        }
      }
      Path file = directory.resolve(name);
      long replaced = sizeOrZero(file);
      // an entry written again (a redelivery, a concurrent first question) holds the same bytes
      // its last use is now, by the clock that evictions and the ttl are measured with
      Files.setLastModifiedTime(temporary, FileTime.fromMillis(clock.millis()));
      Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
      bytes.addAndGet(size - replaced);
    } catch (IOException e) {
      log.warn("could not write the cache file {} in {}: {}", name, directory, e.toString());
      deleteQuietly(temporary);
      count("failed");
      return null;
    }
    count("stored");
    return FeatureRecords.sharedRef(head, name);
  }

  /**
   * The notices of every piece of the image {@code key} names (the global map first, then the local
   * maps in order), each naming its cache file, with {@code context} (the request's, for the global
   * notice) or {@code routing} (for the local ones); empty when a piece is missing. A hit marks the
   * entry used.
   */
  public Optional<List<TileFeatures>> lookup(
      FeatureCacheKey key, RequestContext context, RequestContext routing) {
    if (!DIGEST.matcher(key.getDigest()).matches()) {
      misses.increment();
      return Optional.empty();
    }
    try {
      // under the lock: an eviction either removed the entry before (a miss) or sees it used
      return locked(() -> find(key, context, routing));
    } catch (IOException e) {
      log.warn("could not look up the feature cache in {}: {}", directory, e.toString());
      misses.increment();
      return Optional.empty();
    }
  }

  private Optional<List<TileFeatures>> find(
      FeatureCacheKey key, RequestContext context, RequestContext routing) {
    Path global = directory.resolve(fileName(key.getDigest(), TileKind.TILE_KIND_GLOBAL, 0));
    try {
      TileFeatures head = readHead(global, key, TileKind.TILE_KIND_GLOBAL, 0);
      if (head == null) {
        misses.increment();
        return Optional.empty();
      }
      int locals = head.getLocalCount();
      List<TileFeatures> notices = new ArrayList<>(1 + locals);
      notices.add(notice(head, context, global));
      for (int k = 0; k < locals; k++) {
        Path local = directory.resolve(fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, k));
        TileFeatures piece = readHead(local, key, TileKind.TILE_KIND_LOCAL, k);
        if (piece == null || piece.getLocalCount() != locals) {
          misses.increment();
          return Optional.empty();
        }
        notices.add(notice(piece, routing, local));
      }
      // marks the entry used: neither evicted nor expired while this request reads it
      Files.setLastModifiedTime(global, FileTime.fromMillis(clock.millis()));
      hits.increment();
      return Optional.of(notices);
    } catch (NoSuchFileException gone) {
      misses.increment(); // evicted between the reads
      return Optional.empty();
    } catch (IOException e) {
      log.warn("could not read the feature cache entry {}: {}", key.getDigest(), e.toString());
      misses.increment();
      return Optional.empty();
    }
  }

  private TileFeatures notice(TileFeatures head, RequestContext context, Path file)
      throws IOException {
    long mapsBytes = Files.size(file) - 4 - head.getSerializedSize();
    return head.toBuilder()
        .setContext(context)
        .setFeaturesBytes(mapsBytes)
        .setStoredAt(FeatureRecords.sharedRef(head, file.getFileName().toString()))
        .build();
  }

  /**
   * The record of cache file {@code file} less its maps, when it is the piece ({@code kind}, {@code
   * index}) of {@code key}'s image; {@code null} when the file is missing or holds something else.
   */
  private static TileFeatures readHead(Path file, FeatureCacheKey key, TileKind kind, int index)
      throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer length = ByteBuffer.allocate(4);
      if (channel.read(length, 0) != 4) {
        return null;
      }
      int headLength = length.getInt(0);
      if (headLength < 0 || headLength > channel.size() - 4) {
        return null;
      }
      ByteBuffer head = ByteBuffer.allocate(headLength);
      while (head.hasRemaining() && channel.read(head, 4 + head.position()) > 0) {
        // read on
      }
      if (head.hasRemaining()) {
        return null;
      }
      TileFeatures record = TileFeatures.parseFrom(head.flip());
      boolean same =
          record.getKind() == kind
              && record.getIndex() == index
              && record.getContext().getFeatureCache().getDigest().equals(key.getDigest());
      return same ? record : null;
    } catch (NoSuchFileException e) {
      return null;
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return null;
    }
  }

  /**
   * Checks that {@code read}, the record of cache file {@code ref}, is the piece the file's name
   * says, of the image the name says.
   *
   * @throws PermanentFailure {@code invalid_features} when it is not
   */
  static TileFeatures named(TileFeatures read, FeatureRef ref) {
    Matcher name = NAME.matcher(ref.getSharedFile());
    if (!name.matches()) {
      throw new PermanentFailure(
          "invalid_features", "'" + ref.getSharedFile() + "' is not the name of a cache file");
    }
    TileKind kind =
        name.group(2).equals("g") ? TileKind.TILE_KIND_GLOBAL : TileKind.TILE_KIND_LOCAL;
    int index = kind == TileKind.TILE_KIND_GLOBAL ? 0 : Integer.parseInt(name.group(3));
    if (read.getKind() != kind
        || read.getIndex() != index
        || ref.getKind() != kind
        || ref.getIndex() != index
        || !read.getContext().getFeatureCache().getDigest().equals(name.group(1))) {
      throw new PermanentFailure(
          "invalid_features",
          "the cache file "
              + ref.getSharedFile()
              + " holds "
              + read.getKind()
              + " "
              + read.getIndex()
              + " of image "
              + read.getContext().getFeatureCache().getDigest()
              + ", expected "
              + ref.getKind()
              + " "
              + ref.getIndex()
              + " of image "
              + name.group(1));
    }
    return read;
  }

  @Override
  protected void runOnce() {
    sweep();
  }

  /** Removes the entries unused for the ttl and counts the others. */
  public void sweep() {
    try {
      locked(
          () -> {
            sweepLocked();
            return null;
          });
    } catch (IOException e) {
      log.warn("could not sweep the feature cache in {}: {}", directory, e.toString());
    }
  }

  private void sweepLocked() {
    Map<String, Entry> all = entries();
    long now = clock.millis();
    long total = 0;
    long kept = 0;
    for (Entry entry : all.values()) {
      if (entry.lastUsed < now - ttl.toMillis()) {
        remove(entry, expired);
      } else {
        total += entry.bytes;
        kept++;
      }
    }
    bytes.set(total);
    entries.set(kept);
  }

  /**
   * Evicts least recently used entries not used within {@code pinnedFor} until {@code size} more
   * bytes fit; returns whether they do.
   */
  private boolean makeRoom(long size) {
    try {
      return locked(() -> makeRoomLocked(size));
    } catch (IOException e) {
      log.warn("could not evict from the feature cache in {}: {}", directory, e.toString());
      return false;
    }
  }

  private boolean makeRoomLocked(long size) {
    Map<String, Entry> all = entries();
    long total = 0;
    for (Entry entry : all.values()) {
      total += entry.bytes;
    }
    long pinnedSince = clock.millis() - pinnedFor.toMillis();
    List<Entry> candidates = new ArrayList<>();
    for (Entry entry : all.values()) {
      if (entry.lastUsed < pinnedSince) {
        candidates.add(entry);
      }
    }
    candidates.sort(Comparator.comparingLong(e -> e.lastUsed));
    int count = all.size();
    for (Entry entry : candidates) {
      if (total + size <= maxBytes) {
        break;
      }
      remove(entry, evictedForBytes);
      total -= entry.bytes;
      count--;
    }
    bytes.set(total);
    entries.set(count);
    return total + size <= maxBytes;
  }

  /** What runs under the cache's lock. */
  private interface Locked<T> {
    T run();
  }

  /** Runs {@code action} holding the cache's lock, among this JVM's threads and other processes. */
  private <T> T locked(Locked<T> action) throws IOException {
    synchronized (JVM_LOCK) {
      try (FileChannel channel =
          FileChannel.open(
              directory.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        java.nio.channels.FileLock lock = channel.lock();
        try {
          return action.run();
        } finally {
          lock.release();
        }
      }
    }
  }

  /** One image's files: bytes, last use (the latest modification of any of them). */
  private static final class Entry {
    final List<Path> files = new ArrayList<>();
    long bytes;
    long lastUsed;
  }

  private Map<String, Entry> entries() {
    Map<String, Entry> all = new HashMap<>();
    long staleTemporary = clock.millis() - ttl.toMillis();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "fc*-*")) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        Matcher m = NAME.matcher(name);
        boolean temporary = TEMPORARY.matcher(name).matches();
        if (!m.matches() && !temporary) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException gone) {
          continue;
        }
        if (temporary) {
          if (attributes.lastModifiedTime().toMillis() < staleTemporary) {
            deleteQuietly(file); // left by a writer that died mid-write
          }
          continue;
        }
        Entry entry = all.computeIfAbsent(m.group(1), d -> new Entry());
        entry.files.add(file);
        entry.bytes += attributes.size();
        entry.lastUsed = Math.max(entry.lastUsed, attributes.lastModifiedTime().toMillis());
      }
    } catch (IOException e) {
      log.warn("could not list the feature cache in {}: {}", directory, e.toString());
    }
    return all;
  }

  /** Removes an entry, its global map first, so that lookups miss it at once. */
  private void remove(Entry entry, Counter reason) {
    entry.files.sort(Comparator.comparing((Path p) -> !p.getFileName().toString().endsWith("-g")));
    for (Path file : entry.files) {
      deleteQuietly(file);
    }
    reason.increment();
  }

  private static long sizeOrZero(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // the next sweep tries again
    }
  }

  /** Bytes of cache files, as last counted. */
  public long bytes() {
    return bytes.get();
  }

  private void count(String outcome) {
    writes
        .computeIfAbsent(
            outcome,
            o ->
                Counter.builder("ferret.feature.cache.writes")
                    .description(
                        "Feature maps offered to the feature cache, by outcome (all but stored"
                            + " were stored per request)")
                    .tag("outcome", o)
                    .register(meters))
        .increment();
  }

  private Counter lookups(String outcome) {
    return Counter.builder("ferret.feature.cache.lookups")
        .description("Feature cache lookups by the tiler: hit = neither tiled nor encoded again")
        .tag("outcome", outcome)
        .register(meters);
  }

  private Counter evictions(String reason) {
    return Counter.builder("ferret.feature.cache.evictions")
        .description(
            "Images removed from the feature cache: bytes = least recently used, to make room;"
                + " age = unused for the ttl")
        .tag("reason", reason)
        .register(meters);
  }
}

package ai.ferretstream.boot.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.FeatureCacheKey;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureCacheTest {

  private static final int MAP_BYTES = 1000;

  @TempDir Path directory;

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-12-04T12:00:00Z"));

  private FeatureCache cache(long maxBytes) {
    SharedFeatureStore store =
        new SharedFeatureStore(directory, 1 << 24, Duration.ofMinutes(10), clock, meters);
    return new FeatureCache(
        store, maxBytes, Duration.ofMinutes(30), Duration.ofMinutes(5), clock, meters);
  }

  private static FeatureCacheKey key(char c) {
    return FeatureCacheKey.newBuilder()
        .setDigest(String.valueOf(c).repeat(64))
        .setGlobalModel("clip_vision")
        .setLocalModel("dinov2_vision")
        .build();
  }

  private static TileFeatures head(String requestId, TileKind kind, int index) {
    return TileFeatures.newBuilder()
        .setContext(
            RequestContext.newBuilder().setRequestId(requestId).setPrompt("a user's question"))
        .setKind(kind)
        .setIndex(index)
        .setLocalCount(2)
        .setPatchRows(24)
        .setPatchCols(24)
        .setChannels(2)
        .build();
  }

  private static ByteBuffer maps(int seed) {
    ByteBuffer maps = ByteBuffer.allocate(MAP_BYTES);
    for (int i = 0; i < MAP_BYTES; i++) {
      maps.put(i, (byte) (seed + i));
    }
    return maps;
  }

  /** Stores an image's global map and its two local maps. */
  private void storeImage(FeatureCache cache, FeatureCacheKey key) {
    assertThat(cache.store(key, head("r", TileKind.TILE_KIND_GLOBAL, 0), maps(0))).isNotNull();
    for (int k = 0; k < 2; k++) {
      assertThat(cache.store(key, head("r", TileKind.TILE_KIND_LOCAL, k), maps(k + 1))).isNotNull();
    }
  }

  private Optional<List<TileFeatures>> lookup(FeatureCache cache, FeatureCacheKey key, String id) {
    RequestContext context = RequestContext.newBuilder().setRequestId(id).build();
    return cache.lookup(key, context, context);
  }

  @Test
  void findsEveryPieceOfAStoredImageForAnotherRequestWithoutTheFirstRequestsQuestion()
      throws Exception {
    FeatureCache cache = cache(1 << 20);
    FeatureCacheKey key = key('a');
    storeImage(cache, key);

    List<TileFeatures> notices = lookup(cache, key, "later").orElseThrow();

    assertThat(notices).hasSize(3);
    assertThat(notices)
        .extracting(n -> n.getStoredAt().getSharedFile())
        .containsExactly(
            FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_GLOBAL, 0),
            FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 0),
            FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 1));
    assertThat(notices).allMatch(n -> n.getFeaturesBytes() == MAP_BYTES);
    assertThat(notices).allMatch(n -> n.getContext().getRequestId().equals("later"));
    // what is kept is the image's, not the first request's
    for (Path file : Files.list(directory).filter(f -> f.toString().contains("fc-")).toList()) {
      assertThat(new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1))
          .doesNotContain("a user's question")
          .doesNotContain("\u0001r");
    }
    SharedFeatureStore store =
        new SharedFeatureStore(directory, 1 << 24, Duration.ofMinutes(10), clock, meters);
    FeatureReader.Maps read = store.readMaps("later", notices.get(2).getStoredAt());
    assertThat(read.maps().size()).isEqualTo(MAP_BYTES);
    assertThat(read.head().getIndex()).isEqualTo(1);
    assertThat(meters.get("ferret.feature.cache.lookups").tag("outcome", "hit").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void anImageWithAPieceMissingIsAMissAndAnotherImagesKeyFindsNothing() throws Exception {
    FeatureCache cache = cache(1 << 20);
    FeatureCacheKey key = key('b');
    storeImage(cache, key);
    Files.delete(
        directory.resolve(FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 1)));

    assertThat(lookup(cache, key, "r2")).isEmpty();
    assertThat(lookup(cache, key('c'), "r3")).isEmpty();
    assertThat(meters.get("ferret.feature.cache.lookups").tag("outcome", "miss").counter().count())
        .isEqualTo(2.0);
  }

  @Test
  void aCacheFileThatHoldsAnotherPieceOrImageIsRefusedOnRead() throws Exception {
    FeatureCache cache = cache(1 << 20);
    FeatureCacheKey key = key('d');
    storeImage(cache, key);
    SharedFeatureStore store =
        new SharedFeatureStore(directory, 1 << 24, Duration.ofMinutes(10), clock, meters);
    // local map 0's file placed where local map 1 belongs, and image d's map under image e's name
    Path l0 =
        directory.resolve(FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 0));
    Path l1 =
        directory.resolve(FeatureCache.fileName(key.getDigest(), TileKind.TILE_KIND_LOCAL, 1));
    Files.copy(l0, l1, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String other = FeatureCache.fileName("e".repeat(64), TileKind.TILE_KIND_LOCAL, 0);
    Files.copy(l0, directory.resolve(other));

    FeatureRef swapped =
        FeatureRef.newBuilder()
            .setKind(TileKind.TILE_KIND_LOCAL)
            .setIndex(1)
            .setSharedFile(l1.getFileName().toString())
            .build();
    FeatureRef renamed =
        FeatureRef.newBuilder()
            .setKind(TileKind.TILE_KIND_LOCAL)
            .setIndex(0)
            .setSharedFile(other)
            .build();
    for (FeatureRef ref : List.of(swapped, renamed)) {
      assertThatThrownBy(() -> store.readMaps("r", ref))
          .isInstanceOfSatisfying(
              PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"));
    }
    // and the tiler does not hand out a swapped piece either
    assertThat(lookup(cache, key, "r")).isEmpty();
  }

  @Test
  void evictsTheLeastRecentlyUsedImagesButNeverOneUsedWithinThePinnedTime() throws Exception {
    long image = 3L * (MAP_BYTES + 100);
    FeatureCache cache = cache(2 * image + MAP_BYTES);
    storeImage(cache, key('1'));
    clock.advance(Duration.ofMinutes(6));
    storeImage(cache, key('2'));
    clock.advance(Duration.ofMinutes(6));
    // image 1 asked about again: used now, image 2 is the least recently used
    assertThat(lookup(cache, key('1'), "again")).isPresent();
    clock.advance(Duration.ofSeconds(10));

    storeImage(cache, key('3'));

    assertThat(lookup(cache, key('2'), "x")).isEmpty();
    assertThat(lookup(cache, key('1'), "x")).isPresent();
    assertThat(lookup(cache, key('3'), "x")).isPresent();
    assertThat(
            meters.get("ferret.feature.cache.evictions").tag("reason", "bytes").counter().count())
        .isEqualTo(1.0);

    // everything is pinned now: a new image is not cached, nothing is evicted
    assertThat(cache.store(key('4'), head("r", TileKind.TILE_KIND_GLOBAL, 0), maps(9))).isNull();
    assertThat(meters.get("ferret.feature.cache.writes").tag("outcome", "full").counter().count())
        .isEqualTo(1.0);
    assertThat(lookup(cache, key('1'), "x")).isPresent();
    assertThat(lookup(cache, key('3'), "x")).isPresent();
  }

  @Test
  void removesImagesNotAskedAboutForTheTtl() throws Exception {
    FeatureCache cache = cache(1 << 20);
    storeImage(cache, key('5'));
    storeImage(cache, key('6'));
    clock.advance(Duration.ofMinutes(20));
    assertThat(lookup(cache, key('6'), "kept")).isPresent();
    clock.advance(Duration.ofMinutes(11));

    cache.sweep();

    assertThat(lookup(cache, key('5'), "x")).isEmpty();
    assertThat(lookup(cache, key('6'), "x")).isPresent();
    assertThat(meters.get("ferret.feature.cache.evictions").tag("reason", "age").counter().count())
        .isEqualTo(1.0);
    assertThat(meters.get("ferret.feature.cache.entries").gauge().value()).isEqualTo(1.0);
  }

  @Test
  void instancesOnOneHostShareTheCacheAndRespectEachOthersUse() throws Exception {
    // room for two images (a piece is its maps and a head of about 120 bytes), not three
    long room = 2L * 3 * (MAP_BYTES + 200);
    // an encoder's cache and a tiler's, two processes on one host: one directory
    FeatureCache encoder = cache(room);
    FeatureCache tiler = cache(room);
    storeImage(encoder, key('7'));
    clock.advance(Duration.ofMinutes(6));
    storeImage(encoder, key('8'));
    clock.advance(Duration.ofMinutes(6));

    // the tiler's hit marks image 7 used for every instance
    assertThat(lookup(tiler, key('7'), "follow-up")).isPresent();
    storeImage(encoder, key('9'));

    assertThat(lookup(tiler, key('7'), "x")).isPresent();
    assertThat(lookup(tiler, key('8'), "x")).isEmpty();
    assertThat(lookup(tiler, key('9'), "x")).isPresent();
  }

  @Test
  void anEncoderStoresOnlyForTheModelTheKeyNames() {
    assertThat(FeatureCache.serves("clip_vision", "clip_vision", "")).isTrue();
    assertThat(FeatureCache.serves("clip_vision@2", "clip_vision", "2")).isTrue();
    assertThat(FeatureCache.serves("clip_vision", "clip_vision", "2")).isFalse();
    assertThat(FeatureCache.serves("clip_vision@1", "clip_vision", "2")).isFalse();
    assertThatThrownBy(() -> FeatureCache.fileName("../etc", TileKind.TILE_KIND_GLOBAL, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aPinnedTimeLongerThanTheTtlIsRefused() {
    SharedFeatureStore store =
        new SharedFeatureStore(directory, 1 << 24, Duration.ofMinutes(10), clock, meters);
    assertThatThrownBy(
            () ->
                new FeatureCache(
                    store, 1 << 20, Duration.ofMinutes(1), Duration.ofMinutes(5), clock, meters))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pinned-for");
  }

  /** A clock the test moves; files written meanwhile get its time as their modification time. */
  private final class MutableClock extends Clock {
    private Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}

package ai.ferretstream.boot.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedFeatureStoreTest {

  private static final Instant NOW = Instant.parse("2026-12-03T12:00:00Z");

  @TempDir Path directory;

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  private SharedFeatureStore store(long maxBytes) {
    return new SharedFeatureStore(
        directory, maxBytes, Duration.ofMinutes(1), Clock.fixed(NOW, ZoneOffset.UTC), meters);
  }

  /** A local map whose maps lie outside the heap, as they do in a shared-memory slot. */
  private static TileFeatures record(String requestId, int index, int bytes) {
    ByteBuffer maps = ByteBuffer.allocateDirect(bytes);
    for (int i = 0; i < bytes; i++) {
      maps.put(i, (byte) (index * 13 + i));
    }
    return TileFeatures.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(requestId).putTimings("x", 1))
        .setKind(TileKind.TILE_KIND_LOCAL)
        .setIndex(index)
        .setLocalCount(4)
        .setChannels(2)
        .setFeaturesFp16(UnsafeByteOperations.unsafeWrap(maps))
        .build();
  }

  private long files() throws Exception {
    try (Stream<Path> files = Files.list(directory)) {
      return files.count();
    }
  }

  @Test
  void aWrittenRecordReadsBackWhole() throws Exception {
    SharedFeatureStore store = store(1 << 20);
    TileFeatures written = record("r", 2, 10_000);

    FeatureRef ref = store.write(written);

    assertThat(ref.getSharedFile()).matches("tf-[0-9a-f]{32}");
    // the maps describe a user's image: the file is the service user's alone
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(directory.resolve(ref.getSharedFile()))))
        .isEqualTo("rw-------");
    assertThat(ref.getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(ref.getIndex()).isEqualTo(2);
    TileFeatures read = store.read("r", ref);
    assertThat(read).isEqualTo(written);
    assertThat(store.usedBytes()).isEqualTo(Files.size(directory.resolve(ref.getSharedFile())));
    assertThat(
            meters.get("ferret.features.shared.writes").tag("outcome", "stored").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void aFileIsCheckedToBeTheNamedPieceOfTheRequest() {
    SharedFeatureStore store = store(1 << 20);
    FeatureRef ref = store.write(record("r", 2, 100));

    assertThatThrownBy(() -> store.read("other", ref))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("of request r, expected TILE_KIND_LOCAL 2 of other");
    assertThatThrownBy(() -> store.read("r", ref.toBuilder().setIndex(3).build()))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("expected TILE_KIND_LOCAL 3 of r");
  }

  @Test
  void onlyNamesOfTheStoresOwnAreReadOrRemoved() throws Exception {
    SharedFeatureStore store = store(1 << 20);
    Path outside = directory.resolve("keep");
    Files.writeString(outside, "not a feature file");
    FeatureRef traversal = FeatureRef.newBuilder().setSharedFile("../keep").build();

    assertThatThrownBy(() -> store.read("r", traversal))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"))
        .hasMessageContaining("is not the name of a shared-memory feature file");
    store.release(List.of(traversal, FeatureRef.newBuilder().setSharedFile("keep").build()));
    store.sweep();
    assertThat(outside).exists();
  }

  @Test
  void aFileThatIsGoneIsExpiredNeverSomethingElse() {
    SharedFeatureStore store = store(1 << 20);
    FeatureRef ref = store.write(record("r", 0, 100));
    store.release(List.of(ref));

    assertThatThrownBy(() -> store.read("r", ref))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("features_expired"))
        .hasMessageContaining(ref.getSharedFile());
    assertThat(
            meters
                .get("ferret.features.shared.removed")
                .tag("reason", "released")
                .counter()
                .count())
        .isEqualTo(1.0);
  }

  @Test
  void aFullStoreRefusesAWriteInsteadOfRemovingWhatReadersStillNeed() throws Exception {
    SharedFeatureStore store = store(25_000);
    FeatureRef first = store.write(record("r", 0, 10_000));
    FeatureRef second = store.write(record("r", 1, 10_000));

    assertThat(store.write(record("r", 2, 10_000))).isNull();

    assertThat(files()).isEqualTo(2);
    assertThat(store.read("r", first).getIndex()).isZero();
    assertThat(meters.get("ferret.features.shared.writes").tag("outcome", "full").counter().count())
        .isEqualTo(1.0);
    // room again once a request is answered
    store.release(List.of(second));
    assertThat(store.write(record("r", 2, 10_000))).isNotNull();
  }

  @Test
  void aWriterCountsAgainBeforeSayingFullWhenAnotherServiceRemovedFiles() throws Exception {
    SharedFeatureStore encoder = store(25_000);
    SharedFeatureStore llm = store(25_000);
    FeatureRef first = encoder.write(record("r", 0, 10_000));
    encoder.write(record("r", 1, 10_000));

    // the llm answered the request and removed its files: the encoder's own count still has them
    llm.release(List.of(first));
    Thread.sleep(150);

    assertThat(encoder.write(record("s", 0, 10_000))).isNotNull();
    assertThat(files()).isEqualTo(2);
  }

  @Test
  void theSweepRemovesFilesOlderThanTheTtlAndRecountsTheRest() throws Exception {
    SharedFeatureStore store = store(1 << 20);
    FeatureRef old = store.write(record("r", 0, 1_000));
    FeatureRef young = store.write(record("r", 1, 1_000));
    Files.setLastModifiedTime(
        directory.resolve(old.getSharedFile()),
        FileTime.from(NOW.minus(Duration.ofMinutes(1)).minusSeconds(1)));
    Files.setLastModifiedTime(
        directory.resolve(young.getSharedFile()), FileTime.from(NOW.minusSeconds(30)));

    store.sweep();

    assertThat(directory.resolve(old.getSharedFile())).doesNotExist();
    assertThat(store.read("r", young).getIndex()).isEqualTo(1);
    assertThat(store.usedBytes()).isEqualTo(Files.size(directory.resolve(young.getSharedFile())));
    assertThat(
            meters.get("ferret.features.shared.removed").tag("reason", "expired").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void readsAreIndependentOfTheWritersBuffers() {
    SharedFeatureStore store = store(1 << 20);
    byte[] heap = {1, 2, 3, 4};
    TileFeatures written =
        record("r", 0, 4).toBuilder().setFeaturesFp16(ByteString.copyFrom(heap)).build();
    FeatureRef ref = store.write(written);
    heap[0] = 9;

    assertThat(store.read("r", ref).getFeaturesFp16().toByteArray()).containsExactly(1, 2, 3, 4);
  }

  private static Tile tileNaming(String requestId, TileKind kind, int index, String file) {
    return Tile.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(requestId))
        .setKind(kind)
        .setIndex(index)
        .setRgbSharedFile(file)
        .build();
  }

  @Test
  void aTileFileIsNamedAfterItsRequestAndReplacesThatOfAnEarlierDelivery() throws Exception {
    SharedFeatureStore store = store(1 << 20);

    String first =
        store.writeTile("r", TileKind.TILE_KIND_LOCAL, 3, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    String again =
        store.writeTile("r", TileKind.TILE_KIND_LOCAL, 3, ByteBuffer.wrap(new byte[] {4, 5, 6}));

    assertThat(first)
        .isEqualTo(again)
        .isEqualTo(SharedFeatureStore.tileFileName("r", TileKind.TILE_KIND_LOCAL, 3))
        .matches("tile-[0-9a-f]{32}-l3");
    assertThat(SharedFeatureStore.tileFileName("r", TileKind.TILE_KIND_GLOBAL, 0)).endsWith("-g");
    assertThat(SharedFeatureStore.tileFileName("s", TileKind.TILE_KIND_LOCAL, 3))
        .isNotEqualTo(first);
    // one file, the later pixels, nothing half-written left, and counted once
    assertThat(files()).isEqualTo(1);
    assertThat(store.usedBytes()).isEqualTo(3);
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(directory.resolve(first))))
        .isEqualTo("rw-------");
    ByteBuffer read = store.readTile("r", tileNaming("r", TileKind.TILE_KIND_LOCAL, 3, first), 3);
    assertThat(read.isReadOnly()).isTrue();
    assertThat(ByteString.copyFrom(read).toByteArray()).containsExactly(4, 5, 6);
  }

  @Test
  void aTileFileIsReadOnlyAsItsOwnRequestsTileOfTheRightLength() {
    SharedFeatureStore store = store(1 << 20);
    String file =
        store.writeTile("r", TileKind.TILE_KIND_GLOBAL, 0, ByteBuffer.wrap(new byte[] {1, 2}));

    // another request's tile, or another tile of this request, naming that file
    for (Tile thief :
        List.of(
            tileNaming("s", TileKind.TILE_KIND_GLOBAL, 0, file),
            tileNaming("r", TileKind.TILE_KIND_LOCAL, 0, file),
            tileNaming("r", TileKind.TILE_KIND_GLOBAL, 0, "../" + file))) {
      assertThatThrownBy(() -> store.readTile(thief.getContext().getRequestId(), thief, 2))
          .isInstanceOfSatisfying(
              PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_tile"));
    }
    Tile own = tileNaming("r", TileKind.TILE_KIND_GLOBAL, 0, file);
    assertThatThrownBy(() -> store.readTile("r", own, 3))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_tile"))
        .hasMessageContaining("has 2 bytes, expected 3");

    store.releaseTiles("r", 0);

    assertThatThrownBy(() -> store.readTile("r", own, 2))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("tile_expired"));
  }

  @Test
  void aTileFileThatCannotBeReadIsThatTilesOwnPermanentFailure() throws Exception {
    SharedFeatureStore store = store(1 << 20);
    String name = SharedFeatureStore.tileFileName("r", TileKind.TILE_KIND_LOCAL, 0);
    // not a file the store can map (as a file without read permission for this user would be)
    Files.createDirectory(directory.resolve(name));

    assertThatThrownBy(
            () -> store.readTile("r", tileNaming("r", TileKind.TILE_KIND_LOCAL, 0, name), 3))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_tile"));
  }

  @Test
  void tileFilesCountAgainstTheLimitAndExpireLikeFeatureFiles() throws Exception {
    SharedFeatureStore store = store(1_000);
    String kept = store.writeTile("r", TileKind.TILE_KIND_LOCAL, 0, ByteBuffer.wrap(new byte[600]));

    assertThat(store.writeTile("r", TileKind.TILE_KIND_LOCAL, 1, ByteBuffer.wrap(new byte[600])))
        .isNull();
    assertThat(meters.get("ferret.tiles.shared.writes").tag("outcome", "full").counter().count())
        .isEqualTo(1.0);
    assertThat(files()).isEqualTo(1);

    Files.setLastModifiedTime(
        directory.resolve(kept), FileTime.from(NOW.minus(Duration.ofMinutes(2))));
    store.sweep();

    assertThat(files()).isZero();
    assertThat(store.usedBytes()).isZero();
  }
}

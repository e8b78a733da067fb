package ai.ferretstream.boot.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.testsupport.FakeEncoderModel;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Slots, fallbacks and registration of the shared-memory pool against a fake server. */
class SharedMemoryPoolTest {

  private final FakeEncoderModel fake = new FakeEncoderModel(2);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.EPOCH);
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneOffset getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(fake).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  private SharedMemoryPool pool(int slots, int bytes) {
    return new SharedMemoryPool(channel, "pool-test", slots, bytes, Duration.ofSeconds(5), meters);
  }

  private double outcome(String outcome) {
    var c = meters.find("ferret.inference.shared.memory.leases").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void leasesEachSlotOnceAndFallsBackWhenAllAreOutOrACallIsTooLarge() {
    try (SharedMemoryPool pool = pool(2, 1024)) {
      SharedMemoryPool.Lease a = pool.lease(1024);
      SharedMemoryPool.Lease b = pool.lease(10);

      assertThat(a).isNotNull();
      assertThat(b).isNotNull();
      assertThat(a.region()).isNotEqualTo(b.region());
      assertThat(pool.lease(10)).isNull();
      assertThat(pool.lease(1025)).isNull();
      a.close();
      a.close(); // idempotent: the slot is not freed twice
      assertThat(pool.lease(10)).isNotNull();
      assertThat(pool.lease(10)).isNull();
      assertThat(outcome("shared")).isEqualTo(3);
      assertThat(outcome("busy")).isEqualTo(2);
      assertThat(outcome("too_large")).isEqualTo(1);
      assertThat(fake.sharedMemoryRegions()).hasSize(2);
    }
  }

  @Test
  void aSlotsWindowAndPlacementStayInsideTheSlot() {
    try (SharedMemoryPool pool = pool(2, 64)) {
      SharedMemoryPool.Lease lease = pool.lease(64);
      lease.put(8, com.google.protobuf.ByteString.copyFrom(new byte[] {4, 3, 2, 1}));
      assertThat(lease.window(0, 64).getInt(8)).isEqualTo(0x01020304);
      assertThat(lease.place(8, 4).get("shared_memory_offset").getInt64Param()).isEqualTo(8);
      assertThat(lease.place(8, 4).get("shared_memory_region").getStringParam())
          .isEqualTo(lease.region());
      assertThatThrownBy(() -> lease.place(60, 8)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aServerThatRefusesTheRegionsIsAskedAgainOnlyAfterTheBackOff(@TempDir Path dir) {
    // the server maps objects from another directory: registration fails with NOT_FOUND
    SharedMemoryPool pool =
        new SharedMemoryPool(
            channel, "pool-test", 1, 64, Duration.ofSeconds(5), meters, dir, clock, d -> -1L);
    try (pool) {
      assertThat(pool.lease(8)).isNull();
      assertThat(pool.lease(8)).isNull();
      assertThat(outcome("unregistered")).isEqualTo(2);
      assertThat(fake.sharedMemoryRegions()).isEmpty();
      now.set(now.get().plus(SharedMemoryPool.RETRY_AFTER));
      assertThat(pool.lease(8)).isNull(); // tried again, refused again
      assertThat(outcome("unregistered")).isEqualTo(3);
    }
  }

  @Test
  void recoversOnlyWhenTheServerForgotTheRegions() {
    try (SharedMemoryPool pool = pool(2, 64)) {
      SharedMemoryPool.Lease first = pool.lease(8);
      SharedMemoryPool.Lease second = pool.lease(8);
      assertThat(pool.recover(first, Status.INVALID_ARGUMENT.asRuntimeException())).isFalse();
      assertThat(pool.recover(first, Status.UNAVAILABLE.asRuntimeException())).isFalse();

      fake.forgetSharedMemory();

      assertThat(pool.recover(first, Status.INVALID_ARGUMENT.asRuntimeException())).isTrue();
      assertThat(fake.sharedMemoryRegions()).hasSize(2);
      // a call that failed on the forgotten regions while the first recovered: retried too
      assertThat(pool.recover(second)).isTrue();
      // a lease taken since: its regions are known, so its failure is its own
      first.close();
      assertThat(pool.recover(pool.lease(8))).isFalse();
    }
  }

  @Test
  void closingUnregistersAndRemovesTheObject() {
    SharedMemoryPool pool = pool(2, 64);
    assertThat(pool.lease(8)).isNotNull();
    Path file =
        ai.ferretstream.proto.triton.SharedMemory.file(
            ai.ferretstream.proto.triton.SharedMemory.directory(), pool.key());
    assertThat(file).exists();

    pool.close();

    assertThat(fake.sharedMemoryRegions()).isEmpty();
    assertThat(Files.exists(file)).isFalse();
    assertThat(pool.lease(8)).isNull();
  }

  @Test
  void removesTheObjectsOfItsOwnerLeftByAProcessThatIsGone(@TempDir Path dir) throws Exception {
    Path stale = dir.resolve("ferret-pool-test-999999999-00000000000000ab-1");
    Path otherOwner = dir.resolve("ferret-other-999999999-00000000000000ab-1");
    Files.createFile(stale);
    Files.createFile(otherOwner);

    new SharedMemoryPool(
            channel, "pool-test", 1, 64, Duration.ofSeconds(5), meters, dir, clock, d -> -1L)
        .close();

    assertThat(stale).doesNotExist();
    assertThat(otherOwner).exists();
  }

  @Test
  void aPoolLargerThanTheFreeSpaceStaysOffInsteadOfFaulting(@TempDir Path dir) {
    try (SharedMemoryPool pool =
        new SharedMemoryPool(
            channel,
            "pool-test",
            4,
            1 << 20,
            Duration.ofSeconds(5),
            meters,
            dir,
            clock,
            d -> 3L << 20)) {
      assertThat(pool.lease(8)).isNull();
      assertThat(outcome("no_space")).isEqualTo(1);
      assertThat(fake.sharedMemoryRegions()).isEmpty();
      try (var files = Files.list(dir)) {
        assertThat(files).isEmpty(); // no object was created
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}

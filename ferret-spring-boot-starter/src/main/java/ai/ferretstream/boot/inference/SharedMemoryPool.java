package ai.ferretstream.boot.inference;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterRequest;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.triton.SharedMemory;
import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slots of one shared-memory object on this host, registered with a co-located Triton (or our
 * inference server) as system shared-memory regions, so that tensors pass through memory instead of
 * the gRPC stream (Triton's {@code system_shared_memory} extension).
 *
 * <p>A caller {@linkplain #lease leases} a slot for one call: it writes its inputs into the slot,
 * names the slot in the tensors' parameters ({@link Lease#place}), and reads outputs placed there.
 * When no slot is free, a call needs more than a slot, or the server has not accepted the regions,
 * {@code lease} returns {@code null} and the caller sends its tensors in the message as usual: the
 * pool never fails a call, it only makes calls cheaper.
 *
 * <p>Registration is lazy (the first lease, and again after {@link #retryAfter} when it failed), so
 * the pool does not depend on start-up order. A server that restarted has forgotten the regions:
 * {@link #recover} re-registers them after a call fails on an unknown region.
 *
 * <p>A pool whose object does not fit the free space of that file system (e.g. a container's 64 MiB
 * {@code /dev/shm}) stays off ({@code no_space}) rather than fault when a page is first touched.
 *
 * <p>The object is a file in {@link SharedMemory#directory()} named {@code
 * ferret-<owner>-<pid>-<instance>-<n>}; {@link #close} unregisters and removes it, and a new pool
 * removes the files of its owner left by processes that no longer run (or by an earlier process
 * with this one's pid, as in a restarted container).
 */
public final class SharedMemoryPool implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SharedMemoryPool.class);
  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final Pattern FILE = Pattern.compile("ferret-(.+)-(\\d+)-([0-9a-f]{16})-(\\d+)");

  /** Tells this JVM's objects from those of an earlier process that had the same pid. */
  private static final String INSTANCE =
      String.format("%016x", new java.security.SecureRandom().nextLong());

  /** How long registration is not tried again after it failed. */
  static final Duration RETRY_AFTER = Duration.ofSeconds(5);

  /** One leased slot; closing it returns the slot to the pool. */
  public final class Lease implements AutoCloseable {
    private final int slot;
    private final long registration;
    private boolean closed;

    private Lease(int slot, long registration) {
      this.slot = slot;
      this.registration = registration;
    }

    /** The registered region's name. */
    public String region() {
      return regionName(slot);
    }

    /** {@code bytes} bytes at {@code offset} of the slot, a view. */
    public ByteBuffer window(int offset, int bytes) {
      return buffers.get(slot).slice(offset, bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The tensor parameters that place a tensor of {@code bytes} bytes at {@code offset} of this
     * slot (for an input, or a requested output).
     */
    public Map<String, InferParameter> place(long offset, long bytes) {
      if (offset < 0 || bytes < 0 || offset + bytes > slotBytes) {
        throw new IllegalArgumentException(
            offset + " + " + bytes + " bytes do not fit a slot of " + slotBytes);
      }
      return SharedMemory.parameters(region(), offset, bytes);
    }

    /**
     * Copies {@code data} to {@code offset} of the slot.
     *
     * @return the tensor parameters that place it there (an input's)
     */
    public Map<String, InferParameter> put(int offset, ByteString data) {
      return put(offset, TensorBytes.of(data));
    }

    /**
     * Writes {@code data} to {@code offset} of the slot (bytes that lie in native memory are copied
     * once, straight there).
     *
     * @return the tensor parameters that place it there (an input's)
     */
    public Map<String, InferParameter> put(int offset, TensorBytes data) {
      Map<String, InferParameter> placed = place(offset, data.size());
      data.copyTo(window(offset, data.size()));
      return placed;
    }

    /** Returns the slot; idempotent. */
    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        free.add(slot);
      }
    }
  }

  private final GRPCInferenceServiceBlockingStub stub;
  private final String owner;
  private final int slots;
  private final int slotBytes;
  private final Duration callTimeout;
  private final Clock clock;
  private final Path file;
  private final List<ByteBuffer> buffers;
  private final BlockingQueue<Integer> free;

  /** Why the pool cannot be used (too little space for its object), or {@code null}. */
  private final String unusable;

  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final MeterRegistry meters;
  private final Object registration = new Object();
  private volatile boolean registered;

  /** Counts successful registrations: a lease from an earlier one may name forgotten regions. */
  private volatile long generation;

  private volatile long retryAt;
  private volatile boolean closed;

  /**
   * Creates the object and maps it; registers nothing yet.
   *
   * @param channel channel to the co-located server
   * @param owner a short name of the calling service, part of the region names (e.g. {@code
   *     encoder-local})
   * @param slots slots, i.e. calls that can use shared memory at once
   * @param slotBytes bytes per slot (the largest call that can use it)
   * @param callTimeout deadline of each registration call
   * @throws UncheckedIOException when the object cannot be created
   */
  public SharedMemoryPool(
      Channel channel,
      String owner,
      int slots,
      int slotBytes,
      Duration callTimeout,
      MeterRegistry meters) {
    this(
        channel,
        owner,
        slots,
        slotBytes,
        callTimeout,
        meters,
        SharedMemory.directory(),
        Clock.systemUTC(),
        SharedMemoryPool::usableSpace);
  }

  SharedMemoryPool(
      Channel channel,
      String owner,
      int slots,
      int slotBytes,
      Duration callTimeout,
      MeterRegistry meters,
      Path directory,
      Clock clock,
      ToLongFunction<Path> usableSpace) {
    if (slots < 1 || slotBytes < 1) {
      throw new IllegalArgumentException("need at least one slot of at least one byte");
    }
    if (!owner.matches("[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*")) {
      throw new IllegalArgumentException("owner '" + owner + "' must be letters, digits and '-'");
    }
    this.stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
    this.owner = owner;
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.callTimeout = callTimeout;
    this.meters = meters;
    this.clock = clock;
    removeStale(directory, owner);
    long pid = ProcessHandle.current().pid();
    this.file =
        directory.resolve(
            "ferret-" + owner + "-" + pid + "-" + INSTANCE + "-" + SEQUENCE.incrementAndGet());
    this.buffers = new ArrayList<>(slots);
    long total = (long) slots * slotBytes;
    long usable = usableSpace.applyAsLong(directory);
    if (usable >= 0 && usable < total) {
      // a mapping beyond what the file system can back faults on first touch: stay off instead
      this.unusable =
          directory
              + " has "
              + usable / (1 << 20)
              + " MiB free, fewer than the "
              + total / (1 << 20)
              + " MiB of "
              + slots
              + " slots";
      log.warn(
          "shared memory off for {}: {}; calls carry their tensors in the message (give the"
              + " container a larger /dev/shm, e.g. docker run --shm-size, or lower"
              + " ferret.inference.shared-memory.slots / slot-size)",
          owner,
          unusable);
      this.free = new ArrayBlockingQueue<>(slots);
      return;
    }
    this.unusable = null;
    try (FileChannel ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      ch.truncate((long) slots * slotBytes);
      for (int i = 0; i < slots; i++) {
        buffers.add(ch.map(FileChannel.MapMode.READ_WRITE, (long) i * slotBytes, slotBytes));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create shared-memory object " + file, e);
    }
    this.free = new ArrayBlockingQueue<>(slots);
    for (int i = 0; i < slots; i++) {
      free.add(i);
    }
  }

  /** The object's key as the server opens it ({@code /name}). */
  public String key() {
    return "/" + file.getFileName();
  }

  public int slotBytes() {
    return slotBytes;
  }

  /**
   * A free slot for a call of {@code bytes} bytes, or {@code null} when the call should use the
   * message instead: larger than a slot, no slot free, or the regions not (yet) registered.
   */
  public Lease lease(long bytes) {
    if (closed) {
      return fallback("closed");
    }
    if (unusable != null) {
      return fallback("no_space");
    }
    if (bytes > slotBytes) {
      return fallback("too_large");
    }
    if (!ensureRegistered()) {
      return fallback("unregistered");
    }
    Integer slot = free.poll();
    if (slot == null) {
      return fallback("busy");
    }
    count("shared");
    return new Lease(slot, generation);
  }

  /**
   * After a call that used {@code lease} failed with {@code failure}: whether the server had
   * forgotten the regions (it restarted), in which case they are registered again (or were since
   * the lease) and the call may be retried once.
   */
  public boolean recover(Lease lease, StatusRuntimeException failure) {
    if (failure.getStatus().getCode() != Status.Code.INVALID_ARGUMENT
        && failure.getStatus().getCode() != Status.Code.NOT_FOUND) {
      return false;
    }
    return recover(lease);
  }

  /**
   * After a call that used {@code lease} was refused in a way that does not say why (e.g. a
   * stream's error message): as {@link #recover(Lease, StatusRuntimeException)}.
   */
  public boolean recover(Lease lease) {
    synchronized (registration) {
      if (generation != lease.registration) {
        return registered; // registered again since the call started: its region was stale
      }
      if (!registered) {
        return false;
      }
      try {
        stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
            .systemSharedMemoryStatus(
                SystemSharedMemoryStatusRequest.newBuilder()
                    .setName(regionName(lease.slot))
                    .build());
        return false; // still registered: the failure was the call's own
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
          return false;
        }
      }
      log.info(
          "the inference server forgot the shared-memory regions of {}; registering again", key());
      registered = false;
      retryAt = 0;
      return ensureRegistered();
    }
  }

  /**
   * Runs a unary call that uses {@code lease} (none: {@code null}); if the server refused it
   * because it had forgotten the regions ({@link #recover(Lease, StatusRuntimeException)}), runs it
   * once more on the regions registered again.
   *
   * @throws StatusRuntimeException the call's failure otherwise, or the second attempt's
   */
  public <T> T call(Lease lease, Supplier<T> call) {
    try {
      return call.get();
    } catch (StatusRuntimeException e) {
      if (lease != null && recover(lease, e)) {
        return call.get();
      }
      throw e;
    }
  }

  private boolean ensureRegistered() {
    if (registered) {
      return true;
    }
    synchronized (registration) {
      if (registered || closed) {
        return registered;
      }
      long now = clock.millis();
      if (now < retryAt) {
        return false;
      }
      try {
        for (int i = 0; i < slots; i++) {
          GRPCInferenceServiceBlockingStub s =
              stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
          SystemSharedMemoryRegisterRequest request =
              SystemSharedMemoryRegisterRequest.newBuilder()
                  .setName(regionName(i))
                  .setKey(key())
                  .setOffset((long) i * slotBytes)
                  .setByteSize(slotBytes)
                  .build();
          try {
            s.systemSharedMemoryRegister(request);
          } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
              throw e;
            }
            // registered by an earlier attempt that timed out on our side: replace it
            s.systemSharedMemoryUnregister(
                SystemSharedMemoryUnregisterRequest.newBuilder().setName(regionName(i)).build());
            stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .systemSharedMemoryRegister(request);
          }
        }
        registered = true;
        generation++;
        log.info(
            "registered {} shared-memory slots of {} bytes ({}) with the inference server",
            slots,
            slotBytes,
            key());
      } catch (StatusRuntimeException e) {
        retryAt = now + RETRY_AFTER.toMillis();
        log.warn(
            "the inference server did not register shared memory {} ({}); calls carry their"
                + " tensors in the message, next try in {} s",
            key(),
            e.getStatus(),
            RETRY_AFTER.toSeconds());
      }
      return registered;
    }
  }

  private String regionName(int slot) {
    return file.getFileName() + "-" + slot;
  }

  private Lease fallback(String reason) {
    count(reason);
    return null;
  }

  private void count(String outcome) {
    if (meters == null) {
      return;
    }
    outcomes
        .computeIfAbsent(
            outcome,
            o ->
                Counter.builder("ferret.inference.shared.memory.leases")
                    .description(
                        "Calls by how their tensors travelled: shared (a slot) or why not (the"
                            + " message)")
                    .tag("owner", owner)
                    .tag("outcome", o)
                    .register(meters))
        .increment();
  }

  /** Unregisters the regions (best effort) and removes the object. */
  @Override
  public void close() {
    synchronized (registration) {
      closed = true;
      if (registered) {
        for (int i = 0; i < slots; i++) {
          try {
            stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .systemSharedMemoryUnregister(
                    SystemSharedMemoryUnregisterRequest.newBuilder()
                        .setName(regionName(i))
                        .build());
          } catch (StatusRuntimeException e) {
            log.debug("could not unregister {}: {}", regionName(i), e.getStatus());
            break;
          }
        }
        registered = false;
      }
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("could not remove shared-memory object {}: {}", file, e.toString());
    }
  }

  /** Free bytes of the file system that holds {@code directory}; -1 when unknown. */
  private static long usableSpace(Path directory) {
    try {
      return Files.getFileStore(directory).getUsableSpace();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Removes objects of {@code owner} whose process is gone (left by a crash). */
  private static void removeStale(Path directory, String owner) {
    try (DirectoryStream<Path> files =
        Files.newDirectoryStream(directory, "ferret-" + owner + "-*")) {
      for (Path f : files) {
        Matcher m = FILE.matcher(f.getFileName().toString());
        if (m.matches() && m.group(1).equals(owner)) {
          long pid = Long.parseLong(m.group(2));
          boolean mine = pid == ProcessHandle.current().pid();
          if (mine ? !m.group(3).equals(INSTANCE) : ProcessHandle.of(pid).isEmpty()) {
            Files.deleteIfExists(f);
            log.info("removed shared-memory object {} of a process that no longer runs", f);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      log.debug("could not look for stale shared-memory objects: {}", e.toString());
    }
  }
}

package ai.ferretstream.proto.triton;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse.RegionStatus;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The system shared-memory regions clients registered with a server (Triton's {@code
 * system_shared_memory} extension), for our inference server and the tests' fake models: each is a
 * window of a shared-memory object on this host, mapped once at registration. A tensor placed in a
 * region is read from the mapping (one copy into the heap: see {@link Placement#read}), and an
 * output requested into a region is written there instead of into the response.
 *
 * <p>As in Triton, the client owns the object: it creates it before registering and removes it
 * after unregistering; the server only maps it. A region stays mapped while registered, so a
 * request that names it reads memory that is valid (its contents are the client's business).
 */
public final class SharedMemoryRegions {

  /** One registered window. */
  public record Region(String name, String key, long offset, long byteSize, ByteBuffer mapping) {

    public RegionStatus status() {
      return RegionStatus.newBuilder()
          .setName(name)
          .setKey(key)
          .setOffset(offset)
          .setByteSize(byteSize)
          .build();
    }
  }

  /** Where a tensor lies: a region, an offset in it and a byte count. */
  public record Placement(Region region, long offset, long byteSize) {

    /**
     * The tensor's bytes, copied out of the mapping once: protobuf-java 4 copies a buffer that is
     * not backed by an array when it wraps one (ADR 0010's amendment).
     */
    public ByteString read() {
      return UnsafeByteOperations.unsafeWrap(slice());
    }

    /**
     * The tensor's bytes where they lie: a view of the mapping, not a copy (valid while the region
     * is mapped; the client leaves it alone until the response).
     */
    public ByteBuffer view() {
      return slice();
    }

    /**
     * Writes output {@code tensor}'s {@code data} here.
     *
     * @return the parameters that describe the written output in a response
     * @throws StatusRuntimeException INVALID_ARGUMENT when the data do not fit this window
     */
    public Map<String, InferParameter> write(String tensor, ByteString data) {
      if (data.size() > byteSize) {
        throw invalid(
            "output '"
                + tensor
                + "' has "
                + data.size()
                + " bytes but its shared-memory window in region '"
                + region.name()
                + "' holds "
                + byteSize);
      }
      data.copyTo(slice());
      return SharedMemory.parameters(region.name(), offset, data.size());
    }

    private ByteBuffer slice() {
      return region.mapping().slice((int) offset, (int) byteSize);
    }
  }

  private final Path directory;
  private final Map<String, Region> regions = new ConcurrentHashMap<>();

  public SharedMemoryRegions(Path directory) {
    this.directory = directory;
  }

  /**
   * Maps {@code byteSize} bytes at {@code offset} of the object {@code key} under {@code name}.
   *
   * @throws StatusRuntimeException ALREADY_EXISTS for a name in use, INVALID_ARGUMENT for a bad key
   *     or window, NOT_FOUND when the object does not exist
   */
  public void register(String name, String key, long offset, long byteSize) {
    if (name.isEmpty()) {
      throw invalid("a shared-memory region needs a name");
    }
    if (byteSize <= 0 || byteSize > Integer.MAX_VALUE || offset < 0) {
      throw invalid(
          "shared-memory region '"
              + name
              + "': byte_size must be 1 to "
              + Integer.MAX_VALUE
              + " and offset ≥ 0 (got byte_size "
              + Long.toUnsignedString(byteSize)
              + ", offset "
              + Long.toUnsignedString(offset)
              + ")");
    }
    Path file;
    try {
      file = SharedMemory.file(directory, key);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
    if (regions.containsKey(name)) {
      throw failure(
          Status.ALREADY_EXISTS, "shared-memory region '" + name + "' is already registered");
    }
    MappedByteBuffer mapping;
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (channel.size() < offset + byteSize) {
        throw invalid(
            "shared-memory object '"
                + key
                + "' has "
                + channel.size()
                + " bytes, fewer than offset "
                + offset
                + " + byte_size "
                + byteSize
                + " of region '"
                + name
                + "'");
      }
      mapping = channel.map(FileChannel.MapMode.READ_WRITE, offset, byteSize);
    } catch (NoSuchFileException e) {
      throw failure(
          Status.NOT_FOUND,
          "shared-memory object '" + key + "' does not exist (create it before registering)");
    } catch (IOException e) {
      throw failure(Status.INTERNAL, "cannot map shared-memory object '" + key + "': " + e);
    }
    if (regions.putIfAbsent(name, new Region(name, key, offset, byteSize, mapping)) != null) {
      throw failure(
          Status.ALREADY_EXISTS, "shared-memory region '" + name + "' is already registered");
    }
  }

  /** Unregisters {@code name}, or every region when it is empty; an unknown name is no error. */
  public void unregister(String name) {
    if (name.isEmpty()) {
      regions.clear();
    } else {
      regions.remove(name);
    }
  }

  /**
   * The status of {@code name}, or of every region when it is empty.
   *
   * @throws StatusRuntimeException NOT_FOUND for a name that is not registered
   */
  public List<Region> status(String name) {
    if (name.isEmpty()) {
      return new ArrayList<>(regions.values());
    }
    Region r = regions.get(name);
    if (r == null) {
      throw failure(Status.NOT_FOUND, "shared-memory region '" + name + "' is not registered");
    }
    return List.of(r);
  }

  /**
   * Where the tensor {@code tensor} (an input or output named for messages) lies, when its
   * parameters name a region; {@code null} when they do not.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT for an unknown region, a missing byte size or a
   *     window outside the region
   */
  public Placement placement(String tensor, Map<String, InferParameter> parameters) {
    InferParameter region = parameters.get(SharedMemory.REGION);
    if (region == null) {
      return null;
    }
    String name = region.getStringParam();
    Region r = regions.get(name);
    if (r == null) {
      throw invalid(
          "tensor '"
              + tensor
              + "' names shared-memory region '"
              + name
              + "', which is not registered");
    }
    InferParameter size = parameters.get(SharedMemory.BYTE_SIZE);
    if (size == null) {
      throw invalid(
          "tensor '" + tensor + "' is in shared memory but has no " + SharedMemory.BYTE_SIZE);
    }
    long byteSize = integer(size);
    InferParameter at = parameters.get(SharedMemory.OFFSET);
    long offset = at == null ? 0 : integer(at);
    if (byteSize < 0 || offset < 0 || offset + byteSize > r.byteSize()) {
      throw invalid(
          "tensor '"
              + tensor
              + "' lies at offset "
              + offset
              + " with "
              + byteSize
              + " bytes, outside shared-memory region '"
              + name
              + "' ("
              + r.byteSize()
              + " bytes)");
    }
    return new Placement(r, offset, byteSize);
  }

  private static StatusRuntimeException invalid(String message) {
    return failure(Status.INVALID_ARGUMENT, message);
  }

  private static StatusRuntimeException failure(Status status, String message) {
    return status.withDescription(message).asRuntimeException();
  }

  private static long integer(InferParameter p) {
    return switch (p.getParameterChoiceCase()) {
      case INT64_PARAM -> p.getInt64Param();
      case UINT64_PARAM -> p.getUint64Param();
      default -> throw invalid("shared-memory parameters are integers: " + p);
    };
  }
}

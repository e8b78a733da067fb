package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse.RegionStatus;
import ai.ferretstream.proto.triton.SharedMemory;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
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
 * The system shared-memory regions clients registered (Triton's {@code system_shared_memory}
 * extension): each is a window of a shared-memory object on this host, mapped once at registration.
 * A tensor placed in a region is read from the mapping without a copy, and an output requested into
 * a region is written there instead of into the response.
 *
 * <p>As in Triton, the client owns the object: it creates it before registering and removes it
 * after unregistering; the server only maps it. A region stays mapped while registered, so a
 * request that names it reads memory that is valid (its contents are the client's business).
 */
final class SharedMemoryRegions {

  /** One registered window. */
  record Region(String name, String key, long offset, long byteSize, ByteBuffer mapping) {

    RegionStatus status() {
      return RegionStatus.newBuilder()
          .setName(name)
          .setKey(key)
          .setOffset(offset)
          .setByteSize(byteSize)
          .build();
    }
  }

  /** Where a tensor lies: a region, an offset in it and a byte count. */
  record Placement(Region region, long offset, long byteSize) {

    /** The tensor's bytes, a view of the mapping. */
    ByteString read() {
      return UnsafeByteOperations.unsafeWrap(slice());
    }

    /** Writes {@code data}, which must fit. */
    void write(ByteString data) {
      ByteBuffer target = slice();
      data.copyTo(target);
    }

    private ByteBuffer slice() {
      return region.mapping().slice((int) offset, (int) byteSize);
    }
  }

  private final Path directory;
  private final Map<String, Region> regions = new ConcurrentHashMap<>();

  SharedMemoryRegions(Path directory) {
    this.directory = directory;
  }

  /**
   * Maps {@code byteSize} bytes at {@code offset} of the object {@code key} under {@code name}.
   *
   * @throws InferenceException ALREADY_EXISTS for a name in use, INVALID_ARGUMENT for a bad key or
   *     window, NOT_FOUND when the object does not exist
   */
  void register(String name, String key, long offset, long byteSize) {
    if (name.isEmpty()) {
      throw InferenceException.invalid("a shared-memory region needs a name");
    }
    if (byteSize <= 0 || byteSize > Integer.MAX_VALUE || offset < 0) {
      throw InferenceException.invalid(
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
      throw InferenceException.invalid(e.getMessage());
    }
    if (regions.containsKey(name)) {
      throw new InferenceException(
          Status.Code.ALREADY_EXISTS, "shared-memory region '" + name + "' is already registered");
    }
    MappedByteBuffer mapping;
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (channel.size() < offset + byteSize) {
        throw InferenceException.invalid(
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
      throw new InferenceException(
          Status.Code.NOT_FOUND,
          "shared-memory object '" + key + "' does not exist (create it before registering)");
    } catch (IOException e) {
      throw new InferenceException(
          Status.Code.INTERNAL, "cannot map shared-memory object '" + key + "': " + e);
    }
    if (regions.putIfAbsent(name, new Region(name, key, offset, byteSize, mapping)) != null) {
      throw new InferenceException(
          Status.Code.ALREADY_EXISTS, "shared-memory region '" + name + "' is already registered");
    }
  }

  /** Unregisters {@code name}, or every region when it is empty; an unknown name is no error. */
  void unregister(String name) {
    if (name.isEmpty()) {
      regions.clear();
    } else {
      regions.remove(name);
    }
  }

  /**
   * The status of {@code name}, or of every region when it is empty.
   *
   * @throws InferenceException NOT_FOUND for a name that is not registered
   */
  List<Region> status(String name) {
    if (name.isEmpty()) {
      return new ArrayList<>(regions.values());
    }
    Region r = regions.get(name);
    if (r == null) {
      throw new InferenceException(
          Status.Code.NOT_FOUND, "shared-memory region '" + name + "' is not registered");
    }
    return List.of(r);
  }

  /**
   * Where the tensor {@code tensor} (an input or output named for messages) lies, when its
   * parameters name a region; {@code null} when they do not.
   *
   * @throws InferenceException INVALID_ARGUMENT for an unknown region, a missing byte size or a
   *     window outside the region
   */
  Placement placement(String tensor, Map<String, InferParameter> parameters) {
    InferParameter region = parameters.get(SharedMemory.REGION);
    if (region == null) {
      return null;
    }
    String name = region.getStringParam();
    Region r = regions.get(name);
    if (r == null) {
      throw InferenceException.invalid(
          "tensor '"
              + tensor
              + "' names shared-memory region '"
              + name
              + "', which is not registered");
    }
    InferParameter size = parameters.get(SharedMemory.BYTE_SIZE);
    if (size == null) {
      throw InferenceException.invalid(
          "tensor '" + tensor + "' is in shared memory but has no " + SharedMemory.BYTE_SIZE);
    }
    long byteSize = integer(size);
    InferParameter at = parameters.get(SharedMemory.OFFSET);
    long offset = at == null ? 0 : integer(at);
    if (byteSize < 0 || offset < 0 || offset + byteSize > r.byteSize()) {
      throw InferenceException.invalid(
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

  private static long integer(InferParameter p) {
    return switch (p.getParameterChoiceCase()) {
      case INT64_PARAM -> p.getInt64Param();
      case UINT64_PARAM -> p.getUint64Param();
      default -> throw InferenceException.invalid("shared-memory parameters are integers: " + p);
    };
  }
}

package ai.ferretstream.proto.triton;

import ai.ferretstream.proto.inference.InferParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Names of Triton's system shared-memory extension, shared by our inference server and its clients:
 * the tensor parameters that place a tensor in a registered region, and where a region's key (a
 * POSIX {@code shm_open} name such as {@code /ferret-encoder-0}) lives as a file.
 */
public final class SharedMemory {

  /** Tensor parameter (string): the registered region that holds the tensor. */
  public static final String REGION = "shared_memory_region";

  /** Tensor parameter (int64): the tensor's byte count in the region. */
  public static final String BYTE_SIZE = "shared_memory_byte_size";

  /** Tensor parameter (int64): where in the region the tensor starts; 0 when absent. */
  public static final String OFFSET = "shared_memory_offset";

  /** Extension name in {@code ServerMetadata}. */
  public static final String EXTENSION = "system_shared_memory";

  private static final Pattern KEY = Pattern.compile("/?[A-Za-z0-9][A-Za-z0-9._-]{0,200}");

  private SharedMemory() {}

  /**
   * The tensor parameters that place a tensor of {@code bytes} bytes at {@code offset} of region
   * {@code region}: for an input, a requested output, or an output a server wrote there.
   */
  public static Map<String, InferParameter> parameters(String region, long offset, long bytes) {
    return Map.of(
        REGION,
        InferParameter.newBuilder().setStringParam(region).build(),
        OFFSET,
        InferParameter.newBuilder().setInt64Param(offset).build(),
        BYTE_SIZE,
        InferParameter.newBuilder().setInt64Param(bytes).build());
  }

  /**
   * The directory that holds shared-memory objects on this host: {@code /dev/shm} on Linux (where
   * {@code shm_open} puts them, so Triton sees the same files), else the JVM's temporary directory
   * (a co-located client and server of ours then still agree).
   */
  public static Path directory() {
    Path shm = Path.of("/dev/shm");
    if (Files.isDirectory(shm) && Files.isWritable(shm)) {
      return shm;
    }
    return Path.of(System.getProperty("java.io.tmpdir"));
  }

  /**
   * The file of a key in {@code directory}.
   *
   * @throws IllegalArgumentException when the key is not one plain name (optionally with a leading
   *     slash, as POSIX writes them): no other slash, no {@code ..}
   */
  public static Path file(Path directory, String key) {
    if (!KEY.matcher(key).matches()) {
      throw new IllegalArgumentException(
          "shared-memory key '"
              + key
              + "' is not a plain name such as /ferret-region-0 (letters, digits, '.', '_', '-')");
    }
    return directory.resolve(key.startsWith("/") ? key.substring(1) : key);
  }
}

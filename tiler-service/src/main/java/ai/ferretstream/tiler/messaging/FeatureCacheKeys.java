package ai.ferretstream.tiler.messaging;

import ai.ferretstream.proto.v1.FeatureCacheKey;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Makes the feature cache key of an image (ADR 0018): a SHA-256 digest over everything that changes
 * its feature maps — the encoded image bytes as sent (EXIF orientation included), this tiler's
 * settings (tile size, candidate grids, resize mode, resampling kernels) and the models of both
 * encoders (name and version). Two requests share features exactly when they share the key.
 */
public final class FeatureCacheKeys {

  /** Changes when what a key covers changes, so that old entries are never read again. */
  private static final String SCHEME = "ferret-feature-cache/1";

  private final byte[] settings;
  private final String globalModel;
  private final String localModel;

  /**
   * @param tileSize edge of one tile in pixels
   * @param grids candidate grids in preference order
   * @param mode resize mode
   * @param kernels the resampling kernels' name (vector and scalar kernels may round differently)
   * @param globalModel the global encoder's model, {@code name} or {@code name@version}
   * @param localModel the local encoder's model
   */
  public FeatureCacheKeys(
      int tileSize,
      List<String> grids,
      String mode,
      String kernels,
      String globalModel,
      String localModel) {
    StringBuilder grid = new StringBuilder();
    for (String g : grids) {
      grid.append(g.replace(" ", "")).append(',');
    }
    this.settings =
        (SCHEME
                + "\ntile="
                + tileSize
                + "\ngrids="
                + grid
                + "\nmode="
                + mode.toLowerCase(java.util.Locale.ROOT)
                + "\nkernels="
                + kernels
                + "\nglobal="
                + globalModel
                + "\nlocal="
                + localModel
                + "\nimage=")
            .getBytes(StandardCharsets.UTF_8);
    this.globalModel = globalModel;
    this.localModel = localModel;
  }

  /** The key of {@code image} (read where it lies, not copied). */
  public FeatureCacheKey of(ByteString image) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    sha.update(settings);
    for (ByteBuffer part : image.asReadOnlyByteBufferList()) {
      sha.update(part);
    }
    return FeatureCacheKey.newBuilder()
        .setDigest(HexFormat.of().formatHex(sha.digest()))
        .setGlobalModel(globalModel)
        .setLocalModel(localModel)
        .build();
  }
}

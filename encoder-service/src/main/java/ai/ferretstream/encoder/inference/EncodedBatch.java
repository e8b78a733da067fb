package ai.ferretstream.encoder.inference;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * The features of a batch of tiles, split per tile in input order.
 *
 * @param channels feature channels C
 * @param features per tile: FP16 little-endian {@code [patches, C]}, views of the response bytes or
 *     of a shared-memory slot
 * @param slot the shared-memory slot the features lie in, {@code null} when they lie in the
 *     response; {@link #close} returns it, after which the features must not be read
 */
public record EncodedBatch(int channels, List<ByteString> features, AutoCloseable slot)
    implements AutoCloseable {

  public EncodedBatch {
    features = List.copyOf(features);
  }

  public EncodedBatch(int channels, List<ByteString> features) {
    this(channels, features, null);
  }

  /** Whether the features are views of a shared-memory slot (valid until {@link #close}). */
  public boolean shared() {
    return slot != null;
  }

  /** Returns the slot, if any; the features are not to be read afterwards. */
  @Override
  public void close() {
    if (slot != null) {
      try {
        slot.close();
      } catch (Exception e) {
        throw new IllegalStateException("could not return a shared-memory slot", e);
      }
    }
  }
}

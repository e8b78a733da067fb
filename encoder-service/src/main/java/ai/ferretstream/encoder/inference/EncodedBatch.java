package ai.ferretstream.encoder.inference;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * The features of a batch of tiles, split per tile in input order.
 *
 * @param channels feature channels C
 * @param features per tile: FP16 little-endian {@code [patches, C]}, views of the response bytes
 */
public record EncodedBatch(int channels, List<ByteString> features) {

  public EncodedBatch {
    features = List.copyOf(features);
  }
}

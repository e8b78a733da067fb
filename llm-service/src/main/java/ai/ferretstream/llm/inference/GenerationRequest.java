package ai.ferretstream.llm.inference;

import ai.ferretstream.proto.tensor.TensorBytes;
import com.google.protobuf.ByteString;
import java.util.List;

/**
 * One generation's inputs for {@code ferret_llm}.
 *
 * @param requestId the request id (also the inference request id)
 * @param prompt the rendered prompt
 * @param imageTokens FP16 {@code [tokens, channels]}: written straight into a shared-memory window,
 *     or sent in the message
 * @param layout {@code image_layout}: {@code [global rows, global cols, local token rows, local
 *     token cols, image width, image height]}
 * @param regionEmbeddings FP16 {@code [regions, regionChannels]} (empty when no regions)
 * @param sampling the sampling parameters
 */
public record GenerationRequest(
    String requestId,
    String prompt,
    TensorBytes imageTokens,
    int tokens,
    int channels,
    int[] layout,
    ByteString regionEmbeddings,
    int regions,
    int regionChannels,
    Sampling sampling) {

  /**
   * The same request without its tensors, for what follows the call: once the call has been sent,
   * holding the image tokens (and the feature records they view) for the whole generation would
   * only tie up memory, up to {@code max-generations} times over.
   */
  public GenerationRequest withoutTensors() {
    return new GenerationRequest(
        requestId,
        prompt,
        TensorBytes.of(ByteString.EMPTY),
        tokens,
        channels,
        layout,
        ByteString.EMPTY,
        regions,
        regionChannels,
        sampling);
  }

  /**
   * {@code sampling_parameters}.
   *
   * @param seed {@code null} for none
   */
  public record Sampling(
      int maxTokens, float temperature, float topP, Long seed, List<String> stop) {}
}

package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.ByteString;

/** The learned region sampler (Triton's {@code ferret_region_sampler}), as fusion needs it. */
public interface RegionSampler {

  /**
   * One region's embedding.
   *
   * @param map {@code H_a} as FP16 {@code [1, h, w, C]}
   * @param points {@value PointSampler#POINTS} {@code (x / W, y / H)} pairs
   * @param fpsStart the point farthest-point sampling starts from, in {@code [0, }{@value
   *     PointSampler#POINTS}{@code )} (Ferret draws it at random; here it is drawn from the
   *     request's seed, so the model holds no RNG)
   * @return the embedding, FP16 {@code [1, D]}: already in the LLM's embedding space
   */
  Embedding sample(RequestContext context, FeatureMap map, float[] points, int fpsStart);

  /** An FP16 feature map {@code [height, width, channels]}. */
  record FeatureMap(int height, int width, int channels, ByteString fp16) {}

  /** One region embedding: {@code channels} FP16 values. */
  record Embedding(int channels, ByteString fp16) {}
}

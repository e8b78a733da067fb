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
   * @return the embedding, FP16 {@code [1, C']}
   */
  Embedding sample(RequestContext context, FeatureMap map, float[] points);

  /** An FP16 feature map {@code [height, width, channels]}. */
  record FeatureMap(int height, int width, int channels, ByteString fp16) {}

  /** One region embedding: {@code channels} FP16 values. */
  record Embedding(int channels, ByteString fp16) {}
}

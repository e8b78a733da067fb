package ai.ferretstream.fusion.inference;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.boot.inference.TritonErrors;
import ai.ferretstream.fusion.domain.PointSampler;
import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.triton.TritonHeaders;
import ai.ferretstream.proto.triton.TritonMethods;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link RegionSampler} on Triton's {@code ferret_region_sampler} ({@code max_batch_size 0}):
 * {@code features} FP16 {@code [1, h, w, d]}, {@code points} FP32 {@code [1, 512, 2]} and {@code
 * fps_start} INT64 {@code [1]} in, {@code region_feature} FP16 {@code [1, D]} out (d the encoders'
 * width, D the LLM's: the model's output Linear maps one onto the other). One unary {@code
 * ModelInfer} per region, with a deadline of the call timeout or the request's remaining time,
 * whichever is shorter, and the request id as metadata.
 *
 * <p>With a {@link SharedMemoryPool} (a co-located server), {@code H_a}, the call's one large input
 * (about 7 MB for a 3×2 grid), is copied into a leased slot instead of the message; the slot goes
 * back when the call returns. Without a free slot it goes in the message.
 */
public final class TritonRegionSampler implements RegionSampler {

  public static final String INPUT_FEATURES = "features";
  public static final String INPUT_POINTS = "points";
  public static final String INPUT_FPS_START = "fps_start";
  public static final String OUTPUT = "region_feature";

  private final GRPCInferenceServiceBlockingStub stub;
  private final String model;
  private final Duration callTimeout;
  private final Clock clock;
  private final SharedMemoryPool sharedMemory;

  public TritonRegionSampler(
      GRPCInferenceServiceBlockingStub stub, String model, Duration callTimeout, Clock clock) {
    this(stub, model, callTimeout, clock, null);
  }

  /**
   * @param sharedMemory slots registered with a co-located server for {@code H_a}, or {@code null}
   *     to send it in the message
   */
  public TritonRegionSampler(
      GRPCInferenceServiceBlockingStub stub,
      String model,
      Duration callTimeout,
      Clock clock,
      SharedMemoryPool sharedMemory) {
    this.stub = stub;
    this.model = model;
    this.callTimeout = callTimeout;
    this.clock = clock;
    this.sharedMemory = sharedMemory;
  }

  /** What this adapter expects of the model; checked at start-up. */
  public static ModelContract contract(String model) {
    return new ModelContract(
        model,
        "",
        List.of(
            new ModelContract.Tensor(INPUT_FEATURES, "FP16", 1, -1, -1, -1),
            new ModelContract.Tensor(INPUT_POINTS, "FP32", 1, PointSampler.POINTS, 2),
            new ModelContract.Tensor(INPUT_FPS_START, "INT64", 1)),
        List.of(new ModelContract.Tensor(OUTPUT, "FP16", 1, -1)));
  }

  @Override
  public Embedding sample(RequestContext context, FeatureMap map, float[] points, int fpsStart) {
    if (points.length != PointSampler.POINTS * 2) {
      throw new IllegalArgumentException("expected " + PointSampler.POINTS + " points");
    }
    if (fpsStart < 0 || fpsStart >= PointSampler.POINTS) {
      throw new IllegalArgumentException(
          "fps_start " + fpsStart + " is outside [0, " + PointSampler.POINTS + ")");
    }
    SharedMemoryPool.Lease slot =
        sharedMemory == null ? null : sharedMemory.lease(map.fp16().size());
    try {
      return embedding(call(context, request(context, map, points, fpsStart, slot), slot));
    } finally {
      if (slot != null) {
        slot.close();
      }
    }
  }

  private ModelInferRequest request(
      RequestContext context,
      FeatureMap map,
      float[] points,
      int fpsStart,
      SharedMemoryPool.Lease slot) {
    ModelInferRequest.InferInputTensor.Builder features =
        ModelInferRequest.InferInputTensor.newBuilder()
            .setName(INPUT_FEATURES)
            .setDatatype("FP16")
            .addShape(1)
            .addShape(map.height())
            .addShape(map.width())
            .addShape(map.channels());
    if (slot != null) {
      features.putAllParameters(slot.put(0, map.fp16()));
    }
    ModelInferRequest.Builder request =
        ModelInferRequest.newBuilder()
            .setModelName(model)
            .setId(context.getRequestId())
            .addInputs(features)
            .addInputs(
                ModelInferRequest.InferInputTensor.newBuilder()
                    .setName(INPUT_POINTS)
                    .setDatatype("FP32")
                    .addShape(1)
                    .addShape(PointSampler.POINTS)
                    .addShape(2))
            .addInputs(
                ModelInferRequest.InferInputTensor.newBuilder()
                    .setName(INPUT_FPS_START)
                    .setDatatype("INT64")
                    .addShape(1))
            .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(OUTPUT));
    if (slot == null) {
      request.addRawInputContents(map.fp16()); // raw entries: the inputs outside shared memory
    }
    return request
        .addRawInputContents(UnsafeByteOperations.unsafeWrap(TensorCodec.floatsToFp32(points)))
        .addRawInputContents(UnsafeByteOperations.unsafeWrap(TensorCodec.int64Bytes(fpsStart)))
        .build();
  }

  /**
   * @param slot the slot the request uses (retried once on regions the server had forgotten), or
   *     {@code null}
   */
  private ModelInferResponse call(
      RequestContext context, ModelInferRequest request, SharedMemoryPool.Lease slot) {
    try {
      return slot == null
          ? modelInfer(context, request)
          : sharedMemory.call(slot, () -> modelInfer(context, request));
    } catch (StatusRuntimeException e) {
      throw TritonErrors.classify(model, e);
    }
  }

  private ModelInferResponse modelInfer(RequestContext context, ModelInferRequest request) {
    return TritonMethods.modelInfer(
        stub.withDeadlineAfter(timeoutMillis(context), TimeUnit.MILLISECONDS)
            .withInterceptors(
                MetadataUtils.newAttachHeadersInterceptor(
                    TritonHeaders.requestIdHeaders(context.getRequestId()))),
        request);
  }

  private long timeoutMillis(RequestContext context) {
    long timeout = callTimeout.toMillis();
    if (context.getDeadlineUnixMs() > 0) {
      timeout = Math.min(timeout, context.getDeadlineUnixMs() - clock.millis());
    }
    return Math.max(1, timeout);
  }

  private Embedding embedding(ModelInferResponse response) {
    for (int i = 0; i < response.getOutputsCount(); i++) {
      ModelInferResponse.InferOutputTensor out = response.getOutputs(i);
      if (!out.getName().equals(OUTPUT)) {
        continue;
      }
      if (!out.getDatatype().equals("FP16")) {
        throw rejected(OUTPUT + " is " + out.getDatatype() + ", expected FP16");
      }
      List<Long> shape = out.getShapeList();
      if (shape.isEmpty() || shape.size() > 2 || (shape.size() == 2 && shape.get(0) != 1)) {
        throw rejected(OUTPUT + " has shape " + shape + ", expected [1, C]");
      }
      long channels = shape.get(shape.size() - 1);
      if (i >= response.getRawOutputContentsCount()) {
        throw rejected(OUTPUT + " came without raw contents");
      }
      var raw = response.getRawOutputContents(i);
      if (channels <= 0 || raw.size() != channels * 2) {
        throw rejected(OUTPUT + " has " + raw.size() + " bytes for shape " + shape + " (FP16)");
      }
      return new Embedding((int) channels, raw);
    }
    throw rejected("response has no output " + OUTPUT);
  }

  private PermanentFailure rejected(String message) {
    return new PermanentFailure("inference_rejected", model + ": " + message);
  }
}

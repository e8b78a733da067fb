package ai.ferretstream.testsupport;

import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-process stand-in for {@code ferret_region_sampler}. Its embedding is checkable: {@code
 * [mean x, mean y, h, w, fps_start]} of the points, the feature map and the start index it received
 * (5 channels, unlike the feature maps' channels, so callers must read the size from the tensor).
 */
public final class FakeRegionSampler extends FakeTritonModel {

  public static final String MODEL = "ferret_region_sampler";
  public static final int CHANNELS = 5;

  /** What one call received. */
  public record Call(String requestIdHeader, ModelInferRequest request) {}

  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final List<byte[]> features = new CopyOnWriteArrayList<>();
  private volatile Status failWith;
  private volatile String outputDatatype = "FP16";

  public FakeRegionSampler() {
    super(
        MODEL,
        List.of(
            tensor("features", "FP16", 1, -1, -1, -1),
            tensor("points", "FP32", 1, 512, 2),
            tensor("fps_start", "INT64", 1)),
        List.of(tensor("region_feature", "FP16", 1, -1)));
  }

  public List<Call> calls() {
    return calls;
  }

  /** The map of each call, as the model read it (from the message or shared memory). */
  public List<byte[]> features() {
    return features;
  }

  /** Makes every inference call fail with {@code status} ({@code null}: succeed). */
  public void failWith(Status status) {
    this.failWith = status;
  }

  public void outputDatatype(String datatype) {
    this.outputDatatype = datatype;
  }

  /** The embedding this fake answers for a request. */
  public static float[] embedding(ModelInferRequest request) {
    float[] points = TensorCodec.fp32ToFloats(rawInput(request, 1).toByteArray());
    float sx = 0;
    float sy = 0;
    int n = points.length / 2;
    for (int i = 0; i < n; i++) {
      sx += points[2 * i];
      sy += points[2 * i + 1];
    }
    List<Long> shape = request.getInputs(0).getShapeList();
    long start = TensorCodec.int64s(rawInput(request, 2).toByteArray())[0];
    return new float[] {sx / n, sy / n, shape.get(1), shape.get(2), start};
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    calls.add(new Call(REQUEST_ID.get(), request));
    try {
      features.add(inputBytes(request, 0).toByteArray());
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    Status status = failWith;
    if (status != null) {
      out.onError(status.asRuntimeException());
      return;
    }
    out.onNext(
        ModelInferResponse.newBuilder()
            .setModelName(MODEL)
            .setId(request.getId())
            .addOutputs(
                ModelInferResponse.InferOutputTensor.newBuilder()
                    .setName("region_feature")
                    .setDatatype(outputDatatype)
                    .addShape(1)
                    .addShape(CHANNELS))
            .addRawOutputContents(ByteString.copyFrom(TensorCodec.floatsToFp16(embedding(request))))
            .build());
    out.onCompleted();
  }
}

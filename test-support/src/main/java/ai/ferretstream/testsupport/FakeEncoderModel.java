package ai.ferretstream.testsupport;

import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.triton.TritonHeaders;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;

/**
 * A KServe v2 encoder model for tests: {@code pixels} UINT8 [-1, 336, 336, 3] in, {@code features}
 * FP16 [-1, 576, C] out, where feature (tile b, patch p, channel c) = the red value of the patch's
 * top-left pixel + c. A test can script failures, reject tiles, and change the advertised metadata.
 */
public final class FakeEncoderModel extends FakeTritonModel {

  public static final String MODEL = "dinov2_vision";
  public static final int TILE = 336;
  public static final int GRID = 24;
  public static final int PATCH = TILE / GRID;

  private final int channels;
  private final Deque<Status> failures = new ArrayDeque<>();
  private final List<ModelInferRequest> calls = Collections.synchronizedList(new ArrayList<>());
  private final List<String> requestIdHeaders = Collections.synchronizedList(new ArrayList<>());
  private volatile int rejectRedValue = -1;
  private volatile int extraOutputBytes;
  private volatile long delayMillis;

  public FakeEncoderModel(int channels) {
    super(
        MODEL,
        List.of(tensor("pixels", "UINT8", -1, TILE, TILE, 3)),
        List.of(tensor("features", "FP16", -1, GRID * GRID, channels)));
    this.channels = channels;
  }

  /** The service with an interceptor recording the x-request-id header of every call. */
  public ServerServiceDefinition definition() {
    ServerInterceptor recordRequestId =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String id = headers.get(TritonHeaders.REQUEST_ID);
            if (id != null && call.getMethodDescriptor().getBareMethodName().equals("ModelInfer")) {
              requestIdHeaders.add(id);
            }
            return Contexts.interceptCall(io.grpc.Context.current(), call, headers, next);
          }
        };
    return ServerInterceptors.intercept(this, recordRequestId);
  }

  /** The next ModelInfer calls fail with these statuses, in order. */
  public void failNext(Status... statuses) {
    synchronized (failures) {
      failures.addAll(List.of(statuses));
    }
  }

  /** Rejects (INVALID_ARGUMENT) any batch holding a tile whose first red value is {@code red}. */
  public void rejectTilesWithRed(int red) {
    rejectRedValue = red;
  }

  /** Advertises the given input ({@code pixels}) datatype and shape, the output unchanged. */
  public void advertiseInput(String datatype, long... shape) {
    advertise(
        List.of(tensor("pixels", datatype, shape)),
        List.of(tensor("features", "FP16", -1, GRID * GRID, channels)));
  }

  /** Advertises the given output ({@code features}) shape, the input unchanged. */
  public void advertiseOutputShape(long... shape) {
    advertise(
        List.of(tensor("pixels", "UINT8", -1, TILE, TILE, 3)),
        List.of(tensor("features", "FP16", shape)));
  }

  /** Makes responses longer than their shape says. */
  public void corruptOutputSize(int extraBytes) {
    extraOutputBytes = extraBytes;
  }

  public List<ModelInferRequest> calls() {
    synchronized (calls) {
      return List.copyOf(calls);
    }
  }

  public List<String> requestIdHeaders() {
    synchronized (requestIdHeaders) {
      return List.copyOf(requestIdHeaders);
    }
  }

  /** The feature value the fake computes for a tile's patch and channel. */
  public static float expectedFeature(int topLeftRed, int channel) {
    return topLeftRed + channel;
  }

  /** Every ModelInfer call waits this long before answering (a slow or stuck server). */
  public void delayEveryCall(java.time.Duration delay) {
    delayMillis = delay.toMillis();
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    calls.add(request);
    if (delayMillis > 0) {
      try {
        Thread.sleep(delayMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        out.onError(Status.CANCELLED.asException());
        return;
      }
    }
    Status failure;
    synchronized (failures) {
      failure = failures.poll();
    }
    if (failure != null) {
      out.onError(failure.asException());
      return;
    }
    int batch = (int) request.getInputs(0).getShape(0);
    byte[] pixels;
    try {
      pixels = inputBytes(request, 0).toByteArray();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    if (pixels.length != batch * TILE * TILE * 3) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("wrong input size").asException());
      return;
    }
    int patches = GRID * GRID;
    byte[] features = new byte[batch * patches * channels * 2 + extraOutputBytes];
    for (int b = 0; b < batch; b++) {
      int tileBase = b * TILE * TILE * 3;
      if ((pixels[tileBase] & 0xff) == rejectRedValue) {
        out.onError(
            Status.INVALID_ARGUMENT.withDescription("tile " + b + " rejected").asException());
        return;
      }
      for (int p = 0; p < patches; p++) {
        int x = (p % GRID) * PATCH;
        int y = (p / GRID) * PATCH;
        int red = pixels[tileBase + (y * TILE + x) * 3] & 0xff;
        for (int c = 0; c < channels; c++) {
          short h = Fp16.fromFloat(expectedFeature(red, c));
          int o = ((b * patches + p) * channels + c) * 2;
          features[o] = (byte) h;
          features[o + 1] = (byte) (h >>> 8);
        }
      }
    }
    ModelInferResponse.Builder response =
        ModelInferResponse.newBuilder()
            .setModelName(MODEL)
            .setModelVersion("1")
            .setId(request.getId());
    try {
      addOutput(
          request,
          response,
          ModelInferResponse.InferOutputTensor.newBuilder()
              .setName("features")
              .setDatatype("FP16")
              .addShape(batch)
              .addShape(patches)
              .addShape(channels),
          UnsafeByteOperations.unsafeWrap(features));
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    out.onNext(response.build());
    out.onCompleted();
  }

  /** A tile whose pixels are all {@code (red, 0, 0)}. */
  public static ByteString solidTile(int red) {
    byte[] rgb = new byte[TILE * TILE * 3];
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = (byte) red;
    }
    return UnsafeByteOperations.unsafeWrap(rgb);
  }

  /** A tile whose red channel encodes the patch: red = (patch row * 24 + patch col) mod 251. */
  public static ByteString patchNumberedTile() {
    byte[] rgb = new byte[TILE * TILE * 3];
    for (int y = 0; y < TILE; y++) {
      for (int x = 0; x < TILE; x++) {
        rgb[(y * TILE + x) * 3] = (byte) (((y / PATCH) * GRID + x / PATCH) % 251);
      }
    }
    return UnsafeByteOperations.unsafeWrap(rgb);
  }
}

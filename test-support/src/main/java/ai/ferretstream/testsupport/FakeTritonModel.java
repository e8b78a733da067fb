package ai.ferretstream.testsupport;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ModelReadyResponse;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import ai.ferretstream.proto.inference.ServerReadyResponse;
import ai.ferretstream.proto.triton.TritonHeaders;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;

/**
 * Test fixture: a fake inference server hosting one model. It answers the health and metadata RPCs
 * from the tensors it is given (what a service's start-up contract check reads); subclasses
 * implement the inference RPCs they need. Use with an in-process or loopback gRPC server.
 */
public abstract class FakeTritonModel
    extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

  /** The request id header of the current call (see {@link #requestIdCapture()}). */
  protected static final Context.Key<String> REQUEST_ID = Context.key("request-id");

  private final String model;
  private volatile List<TensorMetadata> inputs;
  private volatile List<TensorMetadata> outputs;
  private volatile boolean modelReady = true;

  protected FakeTritonModel(
      String model, List<TensorMetadata> inputs, List<TensorMetadata> outputs) {
    this.model = model;
    advertise(inputs, outputs);
  }

  /** Changes the tensors the metadata RPC advertises (a server whose model differs). */
  protected final void advertise(List<TensorMetadata> inputs, List<TensorMetadata> outputs) {
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
  }

  /** Whether ModelReady answers true for this model (a server still loading it: false). */
  public void setModelReady(boolean ready) {
    modelReady = ready;
  }

  /** Captures the {@code x-request-id} header into the call context for {@link #REQUEST_ID}. */
  public static ServerInterceptor requestIdCapture() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Context ctx =
            Context.current().withValue(REQUEST_ID, headers.get(TritonHeaders.REQUEST_ID));
        return Contexts.interceptCall(ctx, call, headers, next);
      }
    };
  }

  /** Tensor metadata as a server advertises it (-1 = variable dimension). */
  public static TensorMetadata tensor(String name, String datatype, long... shape) {
    TensorMetadata.Builder t = TensorMetadata.newBuilder().setName(name).setDatatype(datatype);
    for (long d : shape) {
      t.addShape(d);
    }
    return t.build();
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    out.onNext(ServerReadyResponse.newBuilder().setReady(true).build());
    out.onCompleted();
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    out.onNext(
        ModelReadyResponse.newBuilder()
            .setReady(modelReady && model.equals(request.getName()))
            .build());
    out.onCompleted();
  }

  @Override
  public void modelMetadata(
      ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    if (!model.equals(request.getName())) {
      out.onError(
          Status.NOT_FOUND.withDescription("unknown model " + request.getName()).asException());
      return;
    }
    out.onNext(
        ModelMetadataResponse.newBuilder()
            .setName(model)
            .addVersions("1")
            .setPlatform("fake")
            .addAllInputs(inputs)
            .addAllOutputs(outputs)
            .build());
    out.onCompleted();
  }
}

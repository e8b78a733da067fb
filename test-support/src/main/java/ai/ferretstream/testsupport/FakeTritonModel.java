package ai.ferretstream.testsupport;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferRequestedOutputTensor;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelInferResponse.InferOutputTensor;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ModelReadyResponse;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import ai.ferretstream.proto.inference.ServerReadyResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryRegisterResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryStatusResponse;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterRequest;
import ai.ferretstream.proto.inference.SystemSharedMemoryUnregisterResponse;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.SharedMemoryRegions;
import ai.ferretstream.proto.triton.TritonHeaders;
import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;

/**
 * Test fixture: a fake inference server hosting one model. It answers the health and metadata RPCs
 * from the tensors it is given (what a service's start-up contract check reads), and Triton's
 * system shared-memory RPCs ({@link #inputBytes} and {@link #addOutput} read and write the tensors
 * a request places there); subclasses implement the inference RPCs they need. Use with an
 * in-process or loopback gRPC server.
 */
public abstract class FakeTritonModel
    extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

  /** The request id header of the current call (see {@link #requestIdCapture()}). */
  protected static final Context.Key<String> REQUEST_ID = Context.key("request-id");

  private final String model;
  private final SharedMemoryRegions regions = new SharedMemoryRegions(SharedMemory.directory());
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

  @Override
  public void systemSharedMemoryRegister(
      SystemSharedMemoryRegisterRequest request,
      StreamObserver<SystemSharedMemoryRegisterResponse> out) {
    try {
      regions.register(
          request.getName(), request.getKey(), request.getOffset(), request.getByteSize());
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    out.onNext(SystemSharedMemoryRegisterResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void systemSharedMemoryUnregister(
      SystemSharedMemoryUnregisterRequest request,
      StreamObserver<SystemSharedMemoryUnregisterResponse> out) {
    regions.unregister(request.getName());
    out.onNext(SystemSharedMemoryUnregisterResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void systemSharedMemoryStatus(
      SystemSharedMemoryStatusRequest request,
      StreamObserver<SystemSharedMemoryStatusResponse> out) {
    SystemSharedMemoryStatusResponse.Builder b = SystemSharedMemoryStatusResponse.newBuilder();
    try {
      regions.status(request.getName()).forEach(r -> b.putRegions(r.name(), r.status()));
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  /** Forgets every registered region, as a restarted server does. */
  public void forgetSharedMemory() {
    regions.unregister("");
  }

  /** The regions registered now, by name. */
  public List<String> sharedMemoryRegions() {
    return regions.status("").stream().map(SharedMemoryRegions.Region::name).toList();
  }

  /**
   * The bytes of input {@code index}: from its shared-memory region when it names one, else its raw
   * entry (one per input outside shared memory, in order).
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT when the region is unknown or too small
   */
  protected final ByteString inputBytes(ModelInferRequest request, int index) {
    SharedMemoryRegions.Placement at =
        regions.placement(
            request.getInputs(index).getName(), request.getInputs(index).getParametersMap());
    if (at != null) {
      return at.read();
    }
    return rawInput(request, index);
  }

  /**
   * The raw entry of input {@code index}, which must not lie in shared memory: the entries are
   * those of the inputs outside shared memory, in order.
   */
  public static ByteString rawInput(ModelInferRequest request, int index) {
    int raw = 0;
    for (int i = 0; i < index; i++) {
      if (!request.getInputs(i).containsParameters(SharedMemory.REGION)) {
        raw++;
      }
    }
    return request.getRawInputContents(raw);
  }

  /**
   * Adds output {@code tensor} with {@code data} to {@code response}: into the shared-memory region
   * the request names for it (its raw entry left empty, as Triton does), else as its raw entry.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT when the data do not fit the region's window
   */
  protected final void addOutput(
      ModelInferRequest request,
      ModelInferResponse.Builder response,
      InferOutputTensor.Builder tensor,
      ByteString data) {
    InferRequestedOutputTensor requested =
        request.getOutputsList().stream()
            .filter(o -> o.getName().equals(tensor.getName()))
            .findFirst()
            .orElse(null);
    SharedMemoryRegions.Placement at =
        requested == null
            ? null
            : regions.placement(tensor.getName(), requested.getParametersMap());
    if (at == null) {
      response.addOutputs(tensor).addRawOutputContents(data);
      return;
    }
    tensor.putAllParameters(at.write(tensor.getName(), data));
    response.addOutputs(tensor).addRawOutputContents(ByteString.EMPTY);
  }
}

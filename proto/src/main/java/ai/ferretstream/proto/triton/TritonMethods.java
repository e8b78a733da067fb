package ai.ferretstream.proto.triton;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCalls;
import java.util.ArrayList;
import java.util.List;

/**
 * The inference RPCs that carry tensors, with {@link AliasingMarshaller}s for the messages that
 * hold them: clients call {@link #modelInfer}; the inference server binds its service with {@link
 * #withAliasing}. Same wire format and method names as the generated ones.
 */
public final class TritonMethods {

  /** {@code ModelInfer}, the response (output tensors) parsed with aliasing. */
  public static final MethodDescriptor<ModelInferRequest, ModelInferResponse> MODEL_INFER =
      GRPCInferenceServiceGrpc.getModelInferMethod().toBuilder(
              new AliasingMarshaller<>(ModelInferRequest.getDefaultInstance()),
              new AliasingMarshaller<>(ModelInferResponse.getDefaultInstance()))
          .build();

  private TritonMethods() {}

  /**
   * A unary {@code ModelInfer} through {@code stub}'s channel (interceptors included) and call
   * options (deadline included).
   */
  public static ModelInferResponse modelInfer(AbstractStub<?> stub, ModelInferRequest request) {
    return ClientCalls.blockingUnaryCall(
        stub.getChannel(), MODEL_INFER, stub.getCallOptions(), request);
  }

  /**
   * {@code service} with the requests of {@code ModelInfer} and {@code ModelStreamInfer} (input
   * tensors) parsed with aliasing; every other method, and the schema for reflection, unchanged.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public static ServerServiceDefinition withAliasing(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(original.getName())
            .setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      MethodDescriptor<?, ?> method = m.getMethodDescriptor();
      if (method.getFullMethodName().equals(MODEL_INFER.getFullMethodName())) {
        method = MODEL_INFER;
      } else if (method
          .getFullMethodName()
          .equals(GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName())) {
        method =
            GRPCInferenceServiceGrpc.getModelStreamInferMethod().toBuilder(
                    new AliasingMarshaller<>(ModelInferRequest.getDefaultInstance()),
                    new AliasingMarshaller<>(ModelStreamInferResponse.getDefaultInstance()))
                .build();
      }
      descriptor.addMethod(method);
      methods.add(
          ServerMethodDefinition.create(
              (MethodDescriptor) method, (io.grpc.ServerCallHandler) m.getServerCallHandler()));
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    for (ServerMethodDefinition<?, ?> m : methods) {
      out.addMethod(m);
    }
    return out.build();
  }
}

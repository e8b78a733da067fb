package ai.ferretstream.boot.inference;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What a service expects of a model: tensor names, datatypes and shapes (-1 = any size). {@link
 * #verify} checks it against a live server at start-up and fails with a message listing every
 * difference.
 */
public record ModelContract(
    String model, String version, List<Tensor> inputs, List<Tensor> outputs) {

  /** One expected tensor; {@code shape} entries of -1 accept any size (also the server's -1). */
  public record Tensor(String name, String datatype, long... shape) {}

  /**
   * Checks server readiness, model readiness and metadata.
   *
   * @throws IllegalStateException naming every difference found
   */
  public ModelMetadataResponse verify(GRPCInferenceServiceBlockingStub stub, long timeoutMillis) {
    GRPCInferenceServiceBlockingStub s =
        stub.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
    if (!s.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()) {
      throw new IllegalStateException("inference server is not ready");
    }
    stub = stub.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
    if (!stub.modelReady(ModelReadyRequest.newBuilder().setName(model).setVersion(version).build())
        .getReady()) {
      throw new IllegalStateException("model " + model + " is not ready on the inference server");
    }
    ModelMetadataResponse metadata =
        stub.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
            .modelMetadata(
                ModelMetadataRequest.newBuilder().setName(model).setVersion(version).build());
    List<String> problems = new ArrayList<>();
    compare("input", inputs, metadata.getInputsList(), problems);
    compare("output", outputs, metadata.getOutputsList(), problems);
    if (!problems.isEmpty()) {
      throw new IllegalStateException(
          "model "
              + model
              + " does not match what this service expects: "
              + String.join("; ", problems));
    }
    return metadata;
  }

  /**
   * {@link #verify} at start-up: an unreachable server or a model that differs fails with an {@link
   * IllegalStateException} naming the server and every difference.
   *
   * @param channel the channel to the inference server
   * @param target the server's address, for the message
   * @param timeout deadline of each check call
   */
  public ModelMetadataResponse verifyAtStartup(Channel channel, String target, Duration timeout) {
    return atStartup(
        model,
        target,
        () -> verify(GRPCInferenceServiceGrpc.newBlockingStub(channel), timeout.toMillis()));
  }

  /**
   * Runs a start-up check of {@code model} on the server at {@code target}: a failed call or a
   * mismatch becomes an {@link IllegalStateException} that names both.
   */
  public static <T> T atStartup(String model, String target, Supplier<T> check) {
    try {
      return check.get();
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      throw new IllegalStateException(
          "cannot check model "
              + model
              + " on the inference server at "
              + target
              + ": "
              + status.getCode()
              + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"),
          e);
    } catch (IllegalStateException e) {
      throw new IllegalStateException("inference server at " + target + ": " + e.getMessage(), e);
    }
  }

  private static void compare(
      String kind, List<Tensor> expected, List<TensorMetadata> actual, List<String> problems) {
    for (Tensor want : expected) {
      TensorMetadata have =
          actual.stream().filter(t -> t.getName().equals(want.name())).findFirst().orElse(null);
      if (have == null) {
        problems.add(kind + " '" + want.name() + "' is missing (server has " + names(actual) + ")");
        continue;
      }
      if (!have.getDatatype().equals(want.datatype())) {
        problems.add(
            kind
                + " '"
                + want.name()
                + "' is "
                + have.getDatatype()
                + ", expected "
                + want.datatype());
      }
      if (!shapeMatches(want.shape(), have.getShapeList())) {
        problems.add(
            kind
                + " '"
                + want.name()
                + "' has shape "
                + have.getShapeList()
                + ", expected "
                + java.util.Arrays.toString(want.shape()));
      }
    }
  }

  static boolean shapeMatches(long[] want, List<Long> have) {
    if (want.length != have.size()) {
      return false;
    }
    for (int i = 0; i < want.length; i++) {
      long h = have.get(i);
      if (want[i] != -1 && h != -1 && want[i] != h) {
        return false;
      }
    }
    return true;
  }

  private static List<String> names(List<TensorMetadata> tensors) {
    return tensors.stream().map(TensorMetadata::getName).toList();
  }
}

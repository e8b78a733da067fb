package ai.ferretstream.encoder.inference;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.boot.inference.ModelContract.Tensor;
import ai.ferretstream.boot.inference.TritonErrors;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferInputTensor;
import ai.ferretstream.proto.inference.ModelInferRequest.InferRequestedOutputTensor;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelInferResponse.InferOutputTensor;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.triton.TritonHeaders;
import ai.ferretstream.proto.triton.TritonMethods;
import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The encoder's adapter to Triton's KServe v2 gRPC API: one {@code ModelInfer} per batch with the
 * tiles stacked as UINT8 {@code [B, tile, tile, 3]} in one raw input, the FP16 {@code [B, patches,
 * C]} output split back per tile. Every call has a deadline and carries the request id in the
 * {@code x-request-id} header; gRPC errors become {@code TransientFailure} (UNAVAILABLE,
 * RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED) or {@code
 * PermanentFailure("inference_rejected")}. UNAVAILABLE is retried by the channel's service config
 * before it reaches here.
 */
public final class TritonClient {

  /** Error code of a response that does not have the agreed shape. */
  public static final String BAD_OUTPUT = "inference_bad_output";

  private final GRPCInferenceServiceBlockingStub stub;
  private final ModelSpec model;
  private final Duration callTimeout;

  /**
   * @param channel channel to the inference server (one per target, shared)
   * @param model the model and its tensor names and sizes
   * @param callTimeout deadline of one call
   */
  public TritonClient(Channel channel, ModelSpec model, Duration callTimeout) {
    this.stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
    this.model = model;
    this.callTimeout = callTimeout;
  }

  public ModelSpec model() {
    return model;
  }

  /**
   * Checks server and model readiness and the model's tensors: input UINT8 {@code [-1, tile, tile,
   * 3]}, output FP16 {@code [-1, patches, C]} with a fixed C &gt; 0.
   *
   * @throws IllegalStateException naming what differs
   * @throws StatusRuntimeException when the server cannot be reached
   */
  public ModelMetadataResponse verifyModel(Duration timeout) {
    int tile = model.tileSize();
    ModelContract contract =
        new ModelContract(
            model.name(),
            model.version(),
            List.of(new Tensor(model.inputName(), "UINT8", -1, tile, tile, 3)),
            List.of(new Tensor(model.outputName(), "FP16", -1, model.patches(), -1)));
    ModelMetadataResponse metadata = contract.verify(stub, timeout.toMillis());
    for (TensorMetadata output : metadata.getOutputsList()) {
      if (output.getName().equals(model.outputName())) {
        long channels = output.getShape(output.getShapeCount() - 1);
        if (channels <= 0) {
          throw new IllegalStateException(
              "model "
                  + model.name()
                  + " output '"
                  + model.outputName()
                  + "' has shape "
                  + output.getShapeList()
                  + "; the encoder needs a fixed channel count (last dimension > 0)");
        }
      }
    }
    return metadata;
  }

  /** Whether the model is ready; a failed call throws {@link StatusRuntimeException}. */
  public boolean modelReady(Duration timeout) {
    return stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .modelReady(
            ModelReadyRequest.newBuilder()
                .setName(model.name())
                .setVersion(model.version())
                .build())
        .getReady();
  }

  /**
   * Encodes a batch of tiles in one call.
   *
   * @param tiles RGB bytes of each tile, {@code tile * tile * 3} each
   * @param requestIds the request id of each tile (the first goes to the x-request-id header)
   * @return the features of each tile, in input order
   */
  public EncodedBatch encode(List<ByteString> tiles, List<String> requestIds) {
    if (tiles.isEmpty() || tiles.size() != requestIds.size()) {
      throw new IllegalArgumentException(
          "need one request id per tile, and at least one tile: "
              + tiles.size()
              + " tiles, "
              + requestIds.size()
              + " ids");
    }
    for (ByteString tile : tiles) {
      if (tile.size() != model.tileBytes()) {
        throw new IllegalArgumentException(
            "a tile has " + tile.size() + " bytes, expected " + model.tileBytes());
      }
    }
    int batch = tiles.size();
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName(model.name())
            .setModelVersion(model.version())
            .setId(String.join(",", new LinkedHashSet<>(requestIds)))
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName(model.inputName())
                    .setDatatype("UINT8")
                    .addShape(batch)
                    .addShape(model.tileSize())
                    .addShape(model.tileSize())
                    .addShape(3))
            .addOutputs(InferRequestedOutputTensor.newBuilder().setName(model.outputName()))
            // concatenation without copying: a rope over the tiles' own bytes
            .addRawInputContents(ByteString.copyFrom(tiles))
            .build();
    ModelInferResponse response;
    try {
      // the features are parsed with aliasing: copied once out of the transport's buffers
      response =
          TritonMethods.modelInfer(
              stub.withInterceptors(
                      MetadataUtils.newAttachHeadersInterceptor(
                          TritonHeaders.requestIdHeaders(requestIds.get(0))))
                  .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS),
              request);
    } catch (StatusRuntimeException e) {
      throw TritonErrors.classify(model.name(), e);
    }
    return split(response, batch);
  }

  private EncodedBatch split(ModelInferResponse response, int batch) {
    int index = -1;
    for (int i = 0; i < response.getOutputsCount(); i++) {
      if (response.getOutputs(i).getName().equals(model.outputName())) {
        index = i;
        break;
      }
    }
    if (index < 0) {
      throw badOutput(
          "no output '"
              + model.outputName()
              + "' in the response (outputs: "
              + response.getOutputsList().stream().map(InferOutputTensor::getName).toList()
              + ")");
    }
    InferOutputTensor output = response.getOutputs(index);
    if (!output.getDatatype().equals("FP16")) {
      throw badOutput(
          "output '" + output.getName() + "' is " + output.getDatatype() + ", not FP16");
    }
    List<Long> shape = output.getShapeList();
    if (shape.size() != 3
        || shape.get(0) != batch
        || shape.get(1) != model.patches()
        || shape.get(2) <= 0
        || shape.get(2) > Integer.MAX_VALUE) {
      throw badOutput(
          "output '"
              + output.getName()
              + "' has shape "
              + shape
              + ", expected ["
              + batch
              + ", "
              + model.patches()
              + ", C]");
    }
    if (response.getRawOutputContentsCount() <= index) {
      throw badOutput("output '" + output.getName() + "' has no raw_output_contents");
    }
    int channels = (int) (long) shape.get(2);
    ByteString raw = response.getRawOutputContents(index);
    long perTile = (long) model.patches() * channels * 2;
    if (raw.size() != perTile * batch) {
      throw badOutput(
          "output '"
              + output.getName()
              + "' has "
              + raw.size()
              + " bytes, expected "
              + perTile * batch
              + " for shape "
              + shape);
    }
    List<ByteString> features = new ArrayList<>(batch);
    for (int b = 0; b < batch; b++) {
      // substring shares the response's bytes
      features.add(raw.substring((int) (b * perTile), (int) ((b + 1) * perTile)));
    }
    return new EncodedBatch(channels, features);
  }

  private PermanentFailure badOutput(String detail) {
    return new PermanentFailure(BAD_OUTPUT, "model " + model.name() + " returned " + detail);
  }
}

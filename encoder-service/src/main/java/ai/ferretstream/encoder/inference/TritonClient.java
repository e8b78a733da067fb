package ai.ferretstream.encoder.inference;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.boot.inference.ModelContract.Tensor;
import ai.ferretstream.boot.inference.SharedMemoryPool;
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
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.triton.SharedMemory;
import ai.ferretstream.proto.triton.TritonHeaders;
import ai.ferretstream.proto.triton.TritonMethods;
import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.nio.ByteBuffer;
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
 *
 * <p>With a {@link SharedMemoryPool} (a co-located server), a batch leases a slot: the tiles are
 * written into it and the server writes the features after them, so neither crosses the socket; the
 * returned {@link EncodedBatch} holds the slot until it is closed. Without a free slot, or before
 * the channel count is known, the batch goes in the message as above.
 */
public final class TritonClient {

  /** Error code of a response that does not have the agreed shape. */
  public static final String BAD_OUTPUT = "inference_bad_output";

  private final GRPCInferenceServiceBlockingStub stub;
  private final ModelSpec model;
  private final Duration callTimeout;
  private final SharedMemoryPool sharedMemory;

  /** Output channels C, once known (model metadata or a response); 0 before. */
  private volatile int channels;

  /**
   * @param channel channel to the inference server (one per target, shared)
   * @param model the model and its tensor names and sizes
   * @param callTimeout deadline of one call
   */
  public TritonClient(Channel channel, ModelSpec model, Duration callTimeout) {
    this(channel, model, callTimeout, null);
  }

  /**
   * @param sharedMemory slots registered with a co-located server for the tiles and features, or
   *     {@code null} to send them in the messages
   */
  public TritonClient(
      Channel channel, ModelSpec model, Duration callTimeout, SharedMemoryPool sharedMemory) {
    this.stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
    this.model = model;
    this.callTimeout = callTimeout;
    this.sharedMemory = sharedMemory;
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
        if (channels > 0 && channels <= Integer.MAX_VALUE) {
          this.channels = (int) channels;
        }
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
    return encodeTiles(tiles.stream().map(TensorBytes::of).toList(), requestIds);
  }

  /**
   * Encodes a batch of tiles in one call, from pixels wherever they lie (a tile record's bytes, or
   * a view of a mapped tile file: copied once, into the shared-memory slot or the message).
   *
   * @param tiles RGB bytes of each tile, {@code tile * tile * 3} each
   * @param requestIds the request id of each tile (the first goes to the x-request-id header)
   * @return the features of each tile, in input order
   */
  public EncodedBatch encodeTiles(List<TensorBytes> tiles, List<String> requestIds) {
    if (tiles.isEmpty() || tiles.size() != requestIds.size()) {
      throw new IllegalArgumentException(
          "need one request id per tile, and at least one tile: "
              + tiles.size()
              + " tiles, "
              + requestIds.size()
              + " ids");
    }
    for (TensorBytes tile : tiles) {
      if (tile.size() != model.tileBytes()) {
        throw new IllegalArgumentException(
            "a tile has " + tile.size() + " bytes, expected " + model.tileBytes());
      }
    }
    int batch = tiles.size();
    SharedMemoryPool.Lease slot = leaseFor(batch);
    if (slot != null) {
      try {
        return encodeShared(tiles, requestIds, slot);
      } catch (RuntimeException e) {
        slot.close();
        throw e;
      }
    }
    InferInputTensor.Builder input = input(batch);
    ModelInferRequest request =
        request(requestIds)
            .addInputs(input)
            .addOutputs(InferRequestedOutputTensor.newBuilder().setName(model.outputName()))
            // concatenation without copying: a rope over the tiles' bytes (a mapped tile file's
            // copied once)
            .addRawInputContents(
                ByteString.copyFrom(tiles.stream().map(TensorBytes::toByteString).toList()))
            .build();
    ModelInferResponse response = call(request, requestIds, null);
    int index = outputIndex(response, batch);
    return split(response.getRawOutputContents(index), response.getOutputs(index), batch);
  }

  /**
   * The batch through a shared-memory slot: the tiles are written to its start, the server writes
   * the features after them. The batch's features are views of the slot (copied out only for a
   * record that goes to Kafka, see {@link EncodedBatch#features}); the slot is held until the batch
   * is closed.
   */
  private EncodedBatch encodeShared(
      List<TensorBytes> tiles, List<String> requestIds, SharedMemoryPool.Lease slot) {
    int batch = tiles.size();
    int in = batch * model.tileBytes();
    int outAt = align(in);
    int out = outputBytes(batch, channels);
    // each tile copied once, straight into the slot, one after the other
    ByteBuffer pixels = slot.window(0, in);
    for (TensorBytes tile : tiles) {
      tile.copyTo(pixels);
    }
    ModelInferRequest request =
        request(requestIds)
            .addInputs(input(batch).putAllParameters(slot.place(0, in)))
            .addOutputs(
                InferRequestedOutputTensor.newBuilder()
                    .setName(model.outputName())
                    .putAllParameters(slot.place(outAt, out)))
            .build();
    ModelInferResponse response = call(request, requestIds, slot);
    int index = outputIndex(response, batch);
    InferOutputTensor output = response.getOutputs(index);
    if (!output.containsParameters(SharedMemory.REGION)) {
      // a server may answer in the message although asked otherwise
      return split(response.getRawOutputContents(index), output, batch);
    }
    long bytes = output.getParametersOrThrow(SharedMemory.BYTE_SIZE).getInt64Param();
    if (bytes < 0 || bytes > out) {
      throw badOutput(
          "output '" + output.getName() + "' of " + bytes + " bytes in a window of " + out);
    }
    int c = checkOutput(output, batch, bytes);
    return EncodedBatch.inSlot(
        c, batch, (int) (bytes / batch), slot.window(outAt, (int) bytes), slot);
  }

  /** A slot for a batch, when shared memory is on, the channel count known and a slot free. */
  private SharedMemoryPool.Lease leaseFor(int batch) {
    int c = channels;
    if (sharedMemory == null || c <= 0) {
      return null;
    }
    return sharedMemory.lease((long) align(batch * model.tileBytes()) + outputBytes(batch, c));
  }

  private int outputBytes(int batch, int c) {
    return Math.toIntExact((long) batch * model.patches() * c * 2);
  }

  /** Offsets in a slot start on a 64-byte boundary (a cache line). */
  private static int align(int offset) {
    return (offset + 63) & ~63;
  }

  private ModelInferRequest.Builder request(List<String> requestIds) {
    return ModelInferRequest.newBuilder()
        .setModelName(model.name())
        .setModelVersion(model.version())
        .setId(String.join(",", new LinkedHashSet<>(requestIds)));
  }

  private InferInputTensor.Builder input(int batch) {
    return InferInputTensor.newBuilder()
        .setName(model.inputName())
        .setDatatype("UINT8")
        .addShape(batch)
        .addShape(model.tileSize())
        .addShape(model.tileSize())
        .addShape(3);
  }

  /**
   * @param slot the slot the request uses (retried once on regions the server had forgotten), or
   *     {@code null}
   */
  private ModelInferResponse call(
      ModelInferRequest request, List<String> requestIds, SharedMemoryPool.Lease slot) {
    try {
      // the features are parsed with aliasing: copied once out of the transport's buffers
      return slot == null
          ? modelInfer(request, requestIds)
          : sharedMemory.call(slot, () -> modelInfer(request, requestIds));
    } catch (StatusRuntimeException e) {
      throw TritonErrors.classify(model.name(), e);
    }
  }

  private ModelInferResponse modelInfer(ModelInferRequest request, List<String> requestIds) {
    return TritonMethods.modelInfer(
        stub.withInterceptors(
                MetadataUtils.newAttachHeadersInterceptor(
                    TritonHeaders.requestIdHeaders(requestIds.get(0))))
            .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS),
        request);
  }

  /** The index of the model's output in the response, after checking it is there. */
  private int outputIndex(ModelInferResponse response, int batch) {
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
    if (response.getRawOutputContentsCount() <= index) {
      throw badOutput("output '" + model.outputName() + "' has no raw_output_contents entry");
    }
    return index;
  }

  /** Splits features that lie in the response per tile. */
  private EncodedBatch split(ByteString raw, InferOutputTensor output, int batch) {
    int c = checkOutput(output, batch, raw.size());
    long perTile = raw.size() / batch;
    List<ByteString> features = new ArrayList<>(batch);
    for (int b = 0; b < batch; b++) {
      // substring shares the response's bytes
      features.add(raw.substring((int) (b * perTile), (int) ((b + 1) * perTile)));
    }
    return new EncodedBatch(c, features);
  }

  /**
   * Checks the output's datatype, shape and byte count against the batch; returns its channel count
   * C and remembers it.
   */
  private int checkOutput(InferOutputTensor output, int batch, long bytes) {
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
    int c = (int) (long) shape.get(2);
    long perTile = (long) model.patches() * c * 2;
    if (bytes != perTile * batch) {
      throw badOutput(
          "output '"
              + output.getName()
              + "' has "
              + bytes
              + " bytes, expected "
              + perTile * batch
              + " for shape "
              + shape);
    }
    channels = c;
    return c;
  }

  private PermanentFailure badOutput(String detail) {
    return new PermanentFailure(BAD_OUTPUT, "model " + model.name() + " returned " + detail);
  }
}

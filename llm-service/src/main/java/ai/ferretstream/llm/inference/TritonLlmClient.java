package ai.ferretstream.llm.inference;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.boot.inference.TritonErrors;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceStub;
import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.triton.TritonHeaders;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Streams one generation from Triton's decoupled {@code ferret_llm} over {@code ModelStreamInfer}:
 * one stream per request, with the request's deadline, its id as metadata, one {@code
 * ModelInferRequest} (raw inputs, {@code triton_enable_empty_final_response} so the stream ends
 * with an explicit final response, and {@code timeout} in microseconds), then a half-close.
 *
 * <p>With a {@link SharedMemoryPool} (a co-located server), the image tokens, the request's one
 * large tensor, are copied into a leased slot instead of the message; the slot is held until the
 * stream ends. Without a free slot they go in the message.
 */
public final class TritonLlmClient {

  public static final String INPUT_PROMPT = "prompt";
  public static final String INPUT_IMAGE_TOKENS = "image_tokens";
  public static final String INPUT_IMAGE_LAYOUT = "image_layout";
  public static final String INPUT_REGION_EMBEDDINGS = "region_embeddings";
  public static final String INPUT_SAMPLING = "sampling_parameters";
  public static final String OUTPUT_TEXT = "text_output";
  public static final String FINAL_RESPONSE = "triton_final_response";
  public static final String ENABLE_EMPTY_FINAL = "triton_enable_empty_final_response";
  public static final String TIMEOUT = "timeout";

  private static final JsonMapper JSON = JsonMapper.shared();

  private final GRPCInferenceServiceStub stub;
  private final String model;
  private final SharedMemoryPool sharedMemory;
  private final long regionWidth;

  public TritonLlmClient(GRPCInferenceServiceStub stub, String model) {
    this(stub, model, null);
  }

  /**
   * @param sharedMemory slots registered with a co-located server for the image tokens, or {@code
   *     null} to send them in the message
   */
  public TritonLlmClient(
      GRPCInferenceServiceStub stub, String model, SharedMemoryPool sharedMemory) {
    this(stub, model, sharedMemory, -1);
  }

  /**
   * @param regionWidth D, the width of {@code region_embeddings} the model declares (the LLM's
   *     hidden size, read from its metadata at start-up), or -1 when unknown: a request without
   *     regions then sends {@code [0, C]} with C the image tokens' width, and region embeddings of
   *     another width are left to the server to refuse
   */
  public TritonLlmClient(
      GRPCInferenceServiceStub stub,
      String model,
      SharedMemoryPool sharedMemory,
      long regionWidth) {
    this.stub = stub;
    this.model = model;
    this.sharedMemory = sharedMemory;
    this.regionWidth = regionWidth;
  }

  /**
   * D as model metadata declares it: the last dimension of {@code region_embeddings}, or -1 when it
   * is variable or the input is missing.
   */
  public static long regionWidth(ModelMetadataResponse metadata) {
    for (var input : metadata.getInputsList()) {
      if (input.getName().equals(INPUT_REGION_EMBEDDINGS) && input.getShapeCount() == 2) {
        long width = input.getShape(1);
        return width > 0 ? width : -1;
      }
    }
    return -1;
  }

  public String model() {
    return model;
  }

  /** What this adapter expects of the model; checked at start-up. */
  public static ModelContract contract(String model) {
    return new ModelContract(
        model,
        "",
        List.of(
            new ModelContract.Tensor(INPUT_PROMPT, "BYTES", 1),
            new ModelContract.Tensor(INPUT_IMAGE_TOKENS, "FP16", -1, -1),
            new ModelContract.Tensor(INPUT_IMAGE_LAYOUT, "INT32", 6),
            new ModelContract.Tensor(INPUT_REGION_EMBEDDINGS, "FP16", -1, -1),
            new ModelContract.Tensor(INPUT_SAMPLING, "BYTES", 1)),
        List.of(new ModelContract.Tensor(OUTPUT_TEXT, "BYTES", 1)));
  }

  /** A running generation. */
  public interface Call {
    /** Cancels the stream; the sink then hears {@link TokenSink.FailureKind#CANCELLED}. */
    void cancel(String reason);
  }

  /**
   * Starts a generation.
   *
   * @param timeoutMillis time left until the request's deadline
   */
  public Call generate(GenerationRequest request, long timeoutMillis, TokenSink sink) {
    SharedMemoryPool.Lease slot =
        sharedMemory == null ? null : sharedMemory.lease(request.imageTokens().size());
    ModelInferRequest infer;
    try {
      infer = inferRequest(request, timeoutMillis, slot);
    } catch (RuntimeException e) {
      if (slot != null) {
        slot.close();
      }
      throw e;
    }
    Observer observer = new Observer(sink, slot);
    StreamObserver<ModelInferRequest> requests =
        stub.withDeadline(Deadline.after(Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS))
            .withInterceptors(
                MetadataUtils.newAttachHeadersInterceptor(
                    TritonHeaders.requestIdHeaders(request.requestId())))
            .modelStreamInfer(observer);
    requests.onNext(infer);
    requests.onCompleted();
    return observer;
  }

  ModelInferRequest inferRequest(GenerationRequest r, long timeoutMillis) {
    return inferRequest(r, timeoutMillis, null);
  }

  /**
   * @param slot where the image tokens go instead of the message: copied to its start, the input
   *     names it; {@code null} for the message
   */
  ModelInferRequest inferRequest(
      GenerationRequest r, long timeoutMillis, SharedMemoryPool.Lease slot) {
    long regionChannels;
    if (r.regions() == 0) {
      regionChannels = regionWidth > 0 ? regionWidth : r.channels();
    } else if (regionWidth > 0 && r.regionChannels() != regionWidth) {
      throw new PermanentFailure(
          "inference_rejected",
          model
              + " takes region embeddings "
              + regionWidth
              + " wide (the LLM's hidden size) but the region sampler gave "
              + r.regionChannels()
              + ": the sampler's output width must equal the LLM's (triton/README.md)");
    } else {
      regionChannels = r.regionChannels();
    }
    ModelInferRequest.InferInputTensor imageTokens =
        input(INPUT_IMAGE_TOKENS, "FP16", r.tokens(), r.channels());
    if (slot != null) {
      imageTokens = imageTokens.toBuilder().putAllParameters(slot.put(0, r.imageTokens())).build();
    }
    ModelInferRequest.Builder b =
        ModelInferRequest.newBuilder()
            .setModelName(model)
            .setId(r.requestId())
            .putParameters(
                ENABLE_EMPTY_FINAL, InferParameter.newBuilder().setBoolParam(true).build())
            .putParameters(
                TIMEOUT,
                InferParameter.newBuilder()
                    .setInt64Param(TimeUnit.MILLISECONDS.toMicros(Math.max(1, timeoutMillis)))
                    .build())
            .addInputs(input(INPUT_PROMPT, "BYTES", 1))
            .addInputs(imageTokens)
            .addInputs(input(INPUT_IMAGE_LAYOUT, "INT32", r.layout().length))
            .addInputs(input(INPUT_REGION_EMBEDDINGS, "FP16", r.regions(), regionChannels))
            .addInputs(input(INPUT_SAMPLING, "BYTES", 1))
            .addOutputs(
                ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(OUTPUT_TEXT))
            .addRawInputContents(bytesTensor(r.prompt()));
    if (slot == null) {
      // raw entries are those of the inputs outside shared memory, in order
      b.addRawInputContents(r.imageTokens().toByteString());
    }
    return b.addRawInputContents(
            UnsafeByteOperations.unsafeWrap(TensorCodec.int32Bytes(r.layout())))
        .addRawInputContents(r.regionEmbeddings())
        .addRawInputContents(bytesTensor(samplingJson(r.sampling())))
        .build();
  }

  static String samplingJson(GenerationRequest.Sampling s) {
    ObjectNode json = JSON.createObjectNode();
    json.put("max_tokens", s.maxTokens());
    json.put("temperature", s.temperature());
    json.put("top_p", s.topP());
    if (s.seed() != null) {
      json.put("seed", s.seed());
    }
    ArrayNode stop = json.putArray("stop");
    s.stop().forEach(stop::add);
    return JSON.writeValueAsString(json);
  }

  private static ByteString bytesTensor(String value) {
    return UnsafeByteOperations.unsafeWrap(TensorCodec.stringsToBytesTensor(List.of(value)));
  }

  private static ModelInferRequest.InferInputTensor input(
      String name, String datatype, long... shape) {
    ModelInferRequest.InferInputTensor.Builder t =
        ModelInferRequest.InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
    for (long d : shape) {
      t.addShape(d);
    }
    return t.build();
  }

  /** Turns stream messages into sink calls; also the handle that cancels the call. */
  private final class Observer
      implements ClientResponseObserver<ModelInferRequest, ModelStreamInferResponse>, Call {

    private final TokenSink sink;
    private final SharedMemoryPool.Lease slot;
    private volatile ClientCallStreamObserver<ModelInferRequest> call;
    private volatile boolean done;

    Observer(TokenSink sink, SharedMemoryPool.Lease slot) {
      this.sink = sink;
      this.slot = slot;
    }

    /**
     * The generation is over: the slot goes back (held until now, since a server may read its
     * inputs at any time while it runs the request).
     */
    private void finish() {
      done = true;
      if (slot != null) {
        slot.close();
      }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ModelInferRequest> requestStream) {
      this.call = requestStream;
    }

    @Override
    public void cancel(String reason) {
      ClientCallStreamObserver<ModelInferRequest> c = call;
      if (c != null && !done) {
        c.cancel(reason, null);
      }
    }

    @Override
    public void onNext(ModelStreamInferResponse response) {
      if (done) {
        return;
      }
      if (!response.getErrorMessage().isEmpty()) {
        finish();
        if (slot != null && sharedMemory.recover(slot)) {
          // a restarted server had forgotten the regions; they are back: retry the request
          sink.onFailure(
              new TransientFailure(
                  model
                      + " refused the request's shared-memory region (it had restarted): "
                      + response.getErrorMessage(),
                  null),
              TokenSink.FailureKind.OTHER);
          return;
        }
        sink.onModelError(response.getErrorMessage());
        return;
      }
      ModelInferResponse r = response.getInferResponse();
      try {
        for (int i = 0; i < r.getOutputsCount(); i++) {
          ModelInferResponse.InferOutputTensor out = r.getOutputs(i);
          if (!out.getName().equals(OUTPUT_TEXT)) {
            continue;
          }
          if (i < r.getRawOutputContentsCount()) {
            for (String piece :
                TensorCodec.bytesTensorToStrings(r.getRawOutputContents(i).toByteArray())) {
              sink.onPiece(piece);
            }
          } else {
            for (ByteString piece : out.getContents().getBytesContentsList()) {
              sink.onPiece(piece.toStringUtf8());
            }
          }
        }
      } catch (IllegalArgumentException e) {
        finish();
        sink.onModelError(OUTPUT_TEXT + " is not a valid BYTES tensor: " + e.getMessage());
        return;
      }
      InferParameter fin = r.getParametersMap().get(FINAL_RESPONSE);
      if (fin != null && fin.getBoolParam()) {
        finish();
        sink.onFinal();
      }
    }

    @Override
    public void onError(Throwable t) {
      if (done) {
        return;
      }
      finish();
      Status status = Status.fromThrowable(t);
      TokenSink.FailureKind kind =
          switch (status.getCode()) {
            case DEADLINE_EXCEEDED -> TokenSink.FailureKind.DEADLINE_EXCEEDED;
            case CANCELLED -> TokenSink.FailureKind.CANCELLED;
            default -> TokenSink.FailureKind.OTHER;
          };
      StatusRuntimeException e =
          t instanceof StatusRuntimeException sre ? sre : status.withCause(t).asRuntimeException();
      if (slot != null && sharedMemory.recover(slot, e)) {
        // a restarted server had forgotten the regions; they are back: the request may be retried
        sink.onFailure(
            new TransientFailure(
                model + " did not know the shared-memory region of the request (it restarted)", e),
            kind);
        return;
      }
      sink.onFailure(TritonErrors.classify(model, e), kind);
    }

    @Override
    public void onCompleted() {
      if (done) {
        return;
      }
      finish();
      sink.onFailure(
          new TransientFailure(model + " ended the stream without a final response", null),
          TokenSink.FailureKind.OTHER);
    }
  }
}

package ai.ferretstream.testsupport;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An in-process stand-in for the decoupled {@code ferret_llm}. What it streams depends on the
 * prompt: "fail-early" gives an {@code error_message} at once; "fail-late" gives {@link
 * #FAIL_LATE_PIECES} pieces, then an error; "slow" gives a piece every 50 ms for a long time (and
 * records a cancellation); anything else gives {@link #ANSWER} and an empty final response.
 */
public final class FakeLlm extends FakeTritonModel {

  public static final String MODEL = "ferret_llm";

  public static final List<String> ANSWER =
      List.of(
          "The", " red", " square", " is", " at", " [", "100", ", 200", ", 300", ", 400", "]", ".");

  public static final int FAIL_LATE_PIECES = 5;

  /** What one stream received. */
  public record Call(String requestIdHeader, ModelInferRequest request) {}

  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final List<byte[]> imageTokens = new CopyOnWriteArrayList<>();
  private final Set<String> cancelled = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "fake-llm");
            t.setDaemon(true);
            return t;
          });

  /** Interval between the pieces of a {@code paced} answer. */
  public static final long PACE_MILLIS = 50;

  private final AtomicInteger streaming = new AtomicInteger();
  private final AtomicInteger maxStreaming = new AtomicInteger();

  /** The most {@code paced} streams that were open at once. */
  public int maxConcurrentPacedStreams() {
    return maxStreaming.get();
  }

  public FakeLlm() {
    super(
        MODEL,
        List.of(
            tensor("prompt", "BYTES", 1),
            tensor("image_tokens", "FP16", -1, -1),
            tensor("image_layout", "INT32", 6),
            tensor("region_embeddings", "FP16", -1, -1),
            tensor("sampling_parameters", "BYTES", 1)),
        List.of(tensor("text_output", "BYTES", 1)));
  }

  public List<Call> calls() {
    return calls;
  }

  /** The image tokens of each call, as the model read them (from the message or shared memory). */
  public List<byte[]> imageTokens() {
    return imageTokens;
  }

  /** Request ids whose stream the client cancelled. */
  public Set<String> cancelled() {
    return cancelled;
  }

  public void shutdown() {
    scheduler.shutdownNow();
  }

  /** The prompt a request carried. */
  public static String prompt(ModelInferRequest request) {
    return TensorCodec.bytesTensorToStrings(request.getRawInputContents(0).toByteArray()).get(0);
  }

  @Override
  public StreamObserver<ModelInferRequest> modelStreamInfer(
      StreamObserver<ModelStreamInferResponse> responses) {
    ServerCallStreamObserver<ModelStreamInferResponse> out =
        (ServerCallStreamObserver<ModelStreamInferResponse>) responses;
    String header = REQUEST_ID.get();
    AtomicReference<String> requestId = new AtomicReference<>();
    AtomicReference<ScheduledFuture<?>> ticking = new AtomicReference<>();
    out.setOnCancelHandler(
        () -> {
          if (requestId.get() != null) {
            cancelled.add(requestId.get());
          }
          ScheduledFuture<?> f = ticking.get();
          if (f != null) {
            f.cancel(false);
          }
        });
    return new StreamObserver<>() {
      @Override
      public void onNext(ModelInferRequest request) {
        calls.add(new Call(header, request));
        requestId.set(request.getId());
        String prompt = prompt(request);
        String id = request.getId();
        try {
          imageTokens.add(inputBytes(request, 1).toByteArray());
        } catch (StatusRuntimeException e) {
          out.onNext(error(id, e.getStatus().getDescription())); // as Triton: in the stream
          return;
        }
        if (prompt.contains("fail-early")) {
          out.onNext(error(id, "model exploded"));
        } else if (prompt.contains("fail-late")) {
          for (int i = 0; i < FAIL_LATE_PIECES; i++) {
            out.onNext(piece(id, "w" + i + " "));
          }
          out.onNext(error(id, "out of memory"));
        } else if (prompt.contains("slow")) {
          AtomicInteger n = new AtomicInteger();
          ticking.set(
              scheduler.scheduleAtFixedRate(
                  () -> {
                    synchronized (out) {
                      if (!out.isCancelled() && n.get() < 10_000) {
                        out.onNext(piece(id, "tick" + n.getAndIncrement() + " "));
                      }
                    }
                  },
                  0,
                  50,
                  TimeUnit.MILLISECONDS));
        } else if (prompt.contains("paced")) {
          // a GPU's decode rate: one piece every PACE_MILLIS, streams overlapping freely
          int open = streaming.incrementAndGet();
          maxStreaming.accumulateAndGet(open, Math::max);
          AtomicInteger n = new AtomicInteger();
          ticking.set(
              scheduler.scheduleAtFixedRate(
                  () -> {
                    synchronized (out) {
                      int i = n.getAndIncrement();
                      if (out.isCancelled() || i > ANSWER.size()) {
                        return;
                      }
                      if (i < ANSWER.size()) {
                        out.onNext(piece(id, ANSWER.get(i)));
                      } else {
                        streaming.decrementAndGet();
                        out.onNext(finalResponse(id));
                        out.onCompleted();
                        ticking.get().cancel(false);
                      }
                    }
                  },
                  PACE_MILLIS,
                  PACE_MILLIS,
                  TimeUnit.MILLISECONDS));
        } else {
          for (String p : ANSWER) {
            out.onNext(piece(id, p));
          }
          out.onNext(finalResponse(id));
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (ticking.get() == null) {
          out.onCompleted();
        }
      }
    };
  }

  private static ModelStreamInferResponse piece(String id, String text) {
    return ModelStreamInferResponse.newBuilder()
        .setInferResponse(
            ModelInferResponse.newBuilder()
                .setModelName(MODEL)
                .setId(id)
                .putParameters(
                    "triton_final_response",
                    InferParameter.newBuilder().setBoolParam(false).build())
                .addOutputs(
                    ModelInferResponse.InferOutputTensor.newBuilder()
                        .setName("text_output")
                        .setDatatype("BYTES")
                        .addShape(1))
                .addRawOutputContents(
                    ByteString.copyFrom(TensorCodec.stringsToBytesTensor(List.of(text)))))
        .build();
  }

  private static ModelStreamInferResponse finalResponse(String id) {
    return ModelStreamInferResponse.newBuilder()
        .setInferResponse(
            ModelInferResponse.newBuilder()
                .setModelName(MODEL)
                .setId(id)
                .putParameters(
                    "triton_final_response",
                    InferParameter.newBuilder().setBoolParam(true).build()))
        .build();
  }

  private static ModelStreamInferResponse error(String id, String message) {
    return ModelStreamInferResponse.newBuilder()
        .setErrorMessage(message)
        .setInferResponse(ModelInferResponse.newBuilder().setModelName(MODEL).setId(id))
        .build();
  }
}

package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.InferBatchStatistics;
import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.inference.RepositoryIndexRequest;
import ai.ferretstream.proto.inference.RepositoryIndexResponse.ModelIndex;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gRPC service over fake backends on an in-process transport. */
class InferenceServiceTest extends InferenceServiceHarness {

  @Test
  void isNotReadyWhileModelsLoadAndRefusesInferenceWithUnavailable() throws Exception {
    start(null);

    assertThat(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isFalse();
    assertThat(stub().modelReady(ModelReadyRequest.newBuilder().setName("echo").build()).getReady())
        .isFalse();
    assertThatThrownBy(() -> stub().modelInfer(echo("a", 1, 2)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription()).contains("not ready (LOADING)");
            });
    assertThat(stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance()).getModelsList())
        .extracting(ModelIndex::getState)
        .containsOnly("LOADING");

    registry.loadAll(
        (config, dir) ->
            config.getName().equals("echo") ? new Echo() : new Counter(new CountDownLatch(0)));

    assertThat(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
    assertThat(stub().modelReady(ModelReadyRequest.newBuilder().setName("echo").build()).getReady())
        .isTrue();
  }

  @Test
  void aModelThatFailedToLoadKeepsTheServerUnreadyAndSaysWhy() throws Exception {
    start(
        (config, dir) -> {
          if (config.getName().equals("counter")) {
            throw new IllegalArgumentException("graph input 'z' is not declared in config.pbtxt");
          }
          return new Echo();
        });

    assertThat(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isFalse();
    assertThat(stub().modelReady(ModelReadyRequest.newBuilder().setName("echo").build()).getReady())
        .isTrue();
    assertThat(
            stub()
                .repositoryIndex(RepositoryIndexRequest.getDefaultInstance())
                .getModelsList()
                .stream()
                .filter(m -> m.getName().equals("counter"))
                .findFirst()
                .orElseThrow())
        .satisfies(
            m -> {
              assertThat(m.getState()).isEqualTo("UNAVAILABLE");
              assertThat(m.getReason()).contains("graph input 'z'");
            });
    assertThat(
            stub()
                .repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build())
                .getModelsList())
        .extracting(ModelIndex::getName)
        .containsExactly("echo");
  }

  @Test
  void inferEchoesTheIdAndCountsBatchesInStatistics() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));

    ModelInferResponse r = stub().modelInfer(echo("req-7", 1, 2, 3, 4));
    stub().modelInfer(echo("req-8", 5, 6));
    assertThatThrownBy(() -> stub().modelInfer(echo("req-9", 1, 2, 3)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

    assertThat(r.getId()).isEqualTo("req-7");
    assertThat(r.getModelName()).isEqualTo("echo");
    assertThat(r.getModelVersion()).isEqualTo("1");
    assertThat(r.getOutputs(0).getShapeList()).containsExactly(2L, 2L);
    assertThat(TensorCodec.fp32ToFloats(r.getRawOutputContents(0).toByteArray()))
        .containsExactly(2f, 4f, 6f, 8f);
    ModelStatistics stats =
        stub()
            .modelStatistics(ModelStatisticsRequest.newBuilder().setName("echo").build())
            .getModelStats(0);
    assertThat(stats.getInferenceCount()).isEqualTo(3);
    assertThat(stats.getExecutionCount()).isEqualTo(2);
    assertThat(stats.getInferenceStats().getSuccess().getCount()).isEqualTo(2);
    assertThat(stats.getInferenceStats().getFail().getCount()).isEqualTo(1);
    assertThat(stats.getInferenceStats().getComputeInfer().getCount()).isEqualTo(2);
    assertThat(stats.getLastInference()).isPositive();
    assertThat(stats.getBatchStatsList())
        .extracting(InferBatchStatistics::getBatchSize, b -> b.getComputeInfer().getCount())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, 1L),
            org.assertj.core.groups.Tuple.tuple(2L, 1L));
    assertThatThrownBy(
            () ->
                stub().modelStatistics(ModelStatisticsRequest.newBuilder().setName("nope").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void decoupledModelsAreOnlyServedOverTheStream() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));

    assertThatThrownBy(() -> stub().modelInfer(count("c", 2, false)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e.getStatus().getDescription()).contains("decoupled", "ModelStreamInfer");
            });
  }

  @Test
  void streamSendsAnEmptyFinalResponseWhenAskedAndOtherwiseMarksTheLastOne() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));

    List<ModelStreamInferResponse> withEmpty = collect(stream(count("a", 3, true)));
    List<ModelStreamInferResponse> without = collect(stream(count("b", 3, false)));

    assertThat(withEmpty)
        .extracting(InferenceServiceTest::text)
        .containsExactly("p0", "p1", "p2", "");
    assertThat(withEmpty)
        .extracting(InferenceServiceTest::isFinal)
        .containsExactly(false, false, false, true);
    assertThat(without).extracting(InferenceServiceTest::text).containsExactly("p0", "p1", "p2");
    assertThat(without)
        .extracting(InferenceServiceTest::isFinal)
        .containsExactly(false, false, true);
    assertThat(withEmpty).allSatisfy(r -> assertThat(r.getInferResponse().getId()).isEqualTo("a"));
  }

  @Test
  void aRequestWithNoResponsesStillGetsAFinalOne() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));

    List<ModelStreamInferResponse> responses = collect(stream(count("z", 0, false)));

    assertThat(responses).extracting(InferenceServiceTest::isFinal).containsExactly(true);
    assertThat(responses.get(0).getInferResponse().getOutputsCount()).isZero();
  }

  @Test
  void streamErrorsArriveAsErrorMessagesAndTheStreamKeepsWorking() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));
    ModelInferRequest unknown = count("u", 1, false).toBuilder().setModelName("nope").build();
    ModelInferRequest badParam =
        count("p", 1, false).toBuilder()
            .putParameters(
                InferenceService.ENABLE_EMPTY_FINAL,
                InferParameter.newBuilder().setStringParam("yes").build())
            .build();

    // one request at a time, so that the order of responses is fixed
    List<ModelStreamInferResponse> responses = new ArrayList<>();
    for (ModelInferRequest r :
        List.of(unknown, badParam, count("bad", -5, false), count("ok", 1, false))) {
      responses.addAll(collect(stream(r)));
    }

    assertThat(responses)
        .extracting(r -> r.getInferResponse().getId())
        .containsExactly("u", "p", "bad", "ok");
    assertThat(responses.get(0).getErrorMessage()).contains("unknown model 'nope'");
    assertThat(responses.get(0).getInferResponse().getModelName()).isEqualTo("nope");
    assertThat(responses.get(1).getErrorMessage()).contains("must be a bool_param");
    assertThat(responses.get(2).getErrorMessage()).isEqualTo("n must be >= -1, is -5");
    assertThat(responses.get(3).getErrorMessage()).isEmpty();
    assertThat(text(responses.get(3))).isEqualTo("p0");
  }

  @Test
  void severalRequestsOnOneStreamAllComplete() throws Exception {
    startLoaded(new Counter(new CountDownLatch(0)));

    List<ModelStreamInferResponse> responses =
        collect(stream(count("a", 2, true), count("b", 3, true), count("c", 1, true)));

    for (String id : List.of("a", "b", "c")) {
      List<ModelStreamInferResponse> mine =
          responses.stream().filter(r -> r.getInferResponse().getId().equals(id)).toList();
      assertThat(mine).last().satisfies(r -> assertThat(isFinal(r)).isTrue());
      assertThat(mine).filteredOn(InferenceServiceTest::isFinal).hasSize(1);
    }
    assertThat(responses).hasSize(2 + 3 + 1 + 3);
  }

  @Test
  void halfCloseLetsRunningRequestsFinish() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    startLoaded(new Counter(release));

    CompletableFuture<List<ModelStreamInferResponse>> result = stream(count("slow", 2, true));
    // the client has half-closed already; the model only starts now
    release.countDown();

    assertThat(collect(result))
        .extracting(InferenceServiceTest::text)
        .containsExactly("p0", "p1", "");
  }

  @Test
  void cancellingTheStreamStopsGeneration() throws Exception {
    Counter counter = new Counter(new CountDownLatch(0));
    startLoaded(counter);
    CountDownLatch firstPiece = new CountDownLatch(1);
    List<ClientCallStreamObserver<ModelInferRequest>> call = new ArrayList<>();

    StreamObserver<ModelInferRequest> requests =
        GRPCInferenceServiceGrpc.newStub(channel)
            .modelStreamInfer(
                new ClientResponseObserver<ModelInferRequest, ModelStreamInferResponse>() {
                  @Override
                  public void beforeStart(
                      ClientCallStreamObserver<ModelInferRequest> requestStream) {
                    call.add(requestStream);
                  }

                  @Override
                  public void onNext(ModelStreamInferResponse value) {
                    firstPiece.countDown();
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(count("forever", -1, true));
    assertThat(firstPiece.await(10, TimeUnit.SECONDS)).isTrue();

    call.get(0).cancel("client went away", null);

    assertThat(counter.stopped.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(counter.sawCancel).isTrue();
  }

  /** Opens a stream, sends the requests, half-closes; completes with every response. */
  CompletableFuture<List<ModelStreamInferResponse>> stream(ModelInferRequest... requests) {
    List<ModelStreamInferResponse> responses = new ArrayList<>();
    CompletableFuture<List<ModelStreamInferResponse>> done = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> out =
        GRPCInferenceServiceGrpc.newStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .modelStreamInfer(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ModelStreamInferResponse value) {
                    synchronized (responses) {
                      responses.add(value);
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    synchronized (responses) {
                      done.complete(List.copyOf(responses));
                    }
                  }
                });
    for (ModelInferRequest r : requests) {
      out.onNext(r);
    }
    out.onCompleted();
    return done;
  }

  static List<ModelStreamInferResponse> collect(CompletableFuture<List<ModelStreamInferResponse>> f)
      throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  static String text(ModelStreamInferResponse r) {
    ModelInferResponse i = r.getInferResponse();
    if (i.getRawOutputContentsCount() == 0) {
      return "";
    }
    return TensorCodec.bytesTensorToStrings(i.getRawOutputContents(0).toByteArray()).get(0);
  }

  static boolean isFinal(ModelStreamInferResponse r) {
    return r.getInferResponse()
        .getParametersOrThrow(InferenceService.FINAL_RESPONSE)
        .getBoolParam();
  }
}

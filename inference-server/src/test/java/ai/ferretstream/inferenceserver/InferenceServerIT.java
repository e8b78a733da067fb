package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.CHANNELS;
import static ai.ferretstream.inferenceserver.TestTensors.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.ferretstream.boot.inference.ModelContract;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.InferBatchStatistics;
import ai.ferretstream.proto.inference.ModelConfigRequest;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferResponse;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelMetadataResponse.TensorMetadata;
import ai.ferretstream.proto.inference.ModelReadyRequest;
import ai.ferretstream.proto.inference.ModelStatistics;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.proto.inference.ModelStreamInferResponse;
import ai.ferretstream.proto.inference.RepositoryIndexRequest;
import ai.ferretstream.proto.inference.RepositoryIndexResponse.ModelIndex;
import ai.ferretstream.proto.inference.ServerLiveRequest;
import ai.ferretstream.proto.inference.ServerReadyRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The server on a real port, the checked-in dev model repository, a real Netty channel. */
class InferenceServerIT {

  static final float[] CLIP_MEAN = FerretDevLlm.CLIP_MEAN;
  static final float[] CLIP_STD = FerretDevLlm.CLIP_STD;
  static final float[] IN_MEAN = FerretDevLlm.IMAGENET_MEAN;
  static final float[] IN_STD = FerretDevLlm.IMAGENET_STD;

  static InferenceServer server;
  static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    server = InferenceServer.start(Path.of("model-repository"), 0, 0);
    channel =
        NettyChannelBuilder.forAddress("localhost", server.port())
            .usePlaintext()
            .maxInboundMessageSize(128 << 20)
            .build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  static GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  @Test
  void reportsServerAndEveryModelReadyWithTheirContracts() {
    assertThat(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
    assertThat(server.ready()).isTrue();
    for (String model :
        List.of("clip_vision", "dinov2_vision", "ferret_region_sampler", "ferret_llm")) {
      assertThat(
              stub().modelReady(ModelReadyRequest.newBuilder().setName(model).build()).getReady())
          .as(model)
          .isTrue();
    }
    assertThat(
            stub()
                .modelReady(
                    ModelReadyRequest.newBuilder().setName("clip_vision").setVersion("7").build())
                .getReady())
        .isFalse();

    ModelMetadataResponse clip =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("clip_vision").build());
    assertThat(clip.getPlatform()).isEqualTo("onnxruntime_onnx");
    assertThat(clip.getVersionsList()).containsExactly("1");
    assertThat(clip.getInputsList())
        .extracting(
            TensorMetadata::getName, TensorMetadata::getDatatype, TensorMetadata::getShapeList)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("pixels", "UINT8", List.of(-1L, 336L, 336L, 3L)));
    assertThat(clip.getOutputsList())
        .extracting(
            TensorMetadata::getName, TensorMetadata::getDatatype, TensorMetadata::getShapeList)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("features", "FP16", List.of(-1L, 576L, 1024L)));

    // the same check the services run at start-up
    new ModelContract(
            "ferret_llm",
            "",
            List.of(
                new ModelContract.Tensor("prompt", "BYTES", 1),
                new ModelContract.Tensor("image_tokens", "FP16", -1, 1024),
                new ModelContract.Tensor("image_layout", "INT32", 6),
                new ModelContract.Tensor("region_embeddings", "FP16", -1, 1024),
                new ModelContract.Tensor("sampling_parameters", "BYTES", 1)),
            List.of(new ModelContract.Tensor("text_output", "BYTES", 1)))
        .verify(GRPCInferenceServiceGrpc.newBlockingStub(channel), 10_000);
    new ModelContract(
            "ferret_region_sampler",
            "",
            List.of(
                new ModelContract.Tensor("features", "FP16", 1, -1, -1, 1024),
                new ModelContract.Tensor("points", "FP32", 1, 512, 2),
                new ModelContract.Tensor("fps_start", "INT64", 1)),
            List.of(new ModelContract.Tensor("region_feature", "FP16", 1, 1024)))
        .verify(GRPCInferenceServiceGrpc.newBlockingStub(channel), 10_000);

    assertThat(
            stub()
                .modelConfig(ModelConfigRequest.newBuilder().setName("ferret_llm").build())
                .getConfig()
                .getModelTransactionPolicy()
                .getDecoupled())
        .isTrue();
    assertThat(
            stub()
                .repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build())
                .getModelsList())
        .extracting(ModelIndex::getName, ModelIndex::getState)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("clip_vision", "READY"),
            org.assertj.core.groups.Tuple.tuple("dinov2_vision", "READY"),
            org.assertj.core.groups.Tuple.tuple("ferret_region_sampler", "READY"),
            org.assertj.core.groups.Tuple.tuple("ferret_llm", "READY"));
  }

  @Test
  void clipEncodesABatchOfSolidTilesIntoRecoverablePatchColours() {
    assertEncoderRecoversColours("clip_vision", CLIP_MEAN, CLIP_STD);
  }

  @Test
  void dinov2EncodesABatchOfSolidTilesIntoRecoverablePatchColours() {
    assertEncoderRecoversColours("dinov2_vision", IN_MEAN, IN_STD);
  }

  private void assertEncoderRecoversColours(String model, float[] mean, float[] std) {
    int[][] colours = {{200, 30, 60}, {10, 120, 240}};
    ModelStatistics before = stats(model);
    ModelInferResponse response =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName(model)
                    .setId("tiles-1")
                    .addInputs(input("pixels", "UINT8", 2, 336, 336, 3))
                    .addRawInputContents(ByteString.copyFrom(TestTensors.solidTiles(colours)))
                    .build());
    assertThat(response.getId()).isEqualTo("tiles-1");
    assertThat(response.getModelName()).isEqualTo(model);
    assertThat(response.getModelVersion()).isEqualTo("1");
    assertThat(response.getOutputs(0).getName()).isEqualTo("features");
    assertThat(response.getOutputs(0).getDatatype()).isEqualTo("FP16");
    assertThat(response.getOutputs(0).getShapeList()).containsExactly(2L, 576L, 1024L);
    float[] features = TensorCodec.fp16ToFloats(response.getRawOutputContents(0).toByteArray());
    assertThat(features).hasSize(2 * 576 * 1024);
    for (int b = 0; b < 2; b++) {
      for (int token = 0; token < 576; token++) {
        int base = (b * 576 + token) * CHANNELS;
        for (int ch = 0; ch < 3; ch++) {
          float colour = (features[base + ch] * std[ch] + mean[ch]) * 255f;
          assertThat(colour)
              .as("batch %d token %d channel %d", b, token, ch)
              .isCloseTo(colours[b][ch], within(2f));
        }
        for (int ch = 3; ch < CHANNELS; ch++) {
          if (features[base + ch] != 0f) {
            throw new AssertionError("channel " + ch + " of token " + token + " is not 0");
          }
        }
      }
    }
    ModelStatistics after = stats(model);
    assertThat(after.getInferenceCount() - before.getInferenceCount()).isEqualTo(2);
    assertThat(after.getExecutionCount() - before.getExecutionCount()).isEqualTo(1);
    assertThat(
            after.getInferenceStats().getSuccess().getCount()
                - before.getInferenceStats().getSuccess().getCount())
        .isEqualTo(1);
    assertThat(after.getInferenceStats().getComputeInfer().getNs())
        .isGreaterThan(before.getInferenceStats().getComputeInfer().getNs());
    assertThat(after.getBatchStatsList())
        .extracting(InferBatchStatistics::getBatchSize)
        .contains(2L);
  }

  @Test
  void regionSamplerAveragesBilinearSamplesWithXAlongColumns() {
    int h = 4;
    int w = 6;
    short[] ha = new short[h * w * CHANNELS];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        ha[(r * w + c) * CHANNELS] = ai.ferretstream.proto.tensor.Fp16.fromFloat(10 * r + c);
        ha[(r * w + c) * CHANNELS + 1] = ai.ferretstream.proto.tensor.Fp16.fromFloat(1f);
      }
    }
    float[] points = new float[512 * 2];
    for (int i = 0; i < 512; i++) {
      boolean first = i < 256;
      points[2 * i] = first ? 1f : 0.5f; // x
      points[2 * i + 1] = first ? 0f : 0.25f; // y
    }
    ModelInferResponse response =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName("ferret_region_sampler")
                    .addInputs(input("features", "FP16", 1, h, w, CHANNELS))
                    .addRawInputContents(TestTensors.fp16(ha))
                    .addInputs(input("points", "FP32", 1, 512, 2))
                    .addRawInputContents(ByteString.copyFrom(TensorCodec.floatsToFp32(points)))
                    .addInputs(input("fps_start", "INT64", 1))
                    .addRawInputContents(ByteString.copyFrom(TensorCodec.int64Bytes(17)))
                    .build());
    assertThat(response.getOutputs(0).getShapeList()).containsExactly(1L, 1024L);
    float[] pooled = TensorCodec.fp16ToFloats(response.getRawOutputContents(0).toByteArray());
    // (x=1, y=0) reads row 0, column 5 -> 5; (x=0.5, y=0.25) reads row 0.75, column 2.5 -> 10
    assertThat(pooled[0]).isCloseTo(7.5f, within(0.01f));
    assertThat(pooled[1]).isCloseTo(1f, within(0.001f));
    assertThat(pooled[2]).isZero();
  }

  @Test
  void ferretLlmStreamsAnswerPiecesThenAnEmptyFinalResponse() throws Exception {
    ModelInferRequest request =
        TestTensors.llmRequest(
                "ask-1",
                "Where is the red object? Include the coordinates for each mentioned object.",
                48,
                48,
                (r, c) ->
                    r >= 10 && r < 20 && c >= 30 && c < 40
                        ? new int[] {255, 0, 0}
                        : new int[] {255, 255, 255},
                new short[0],
                null)
            .build();
    List<ModelStreamInferResponse> responses = stream(request);

    assertThat(responses).allSatisfy(r -> assertThat(r.getErrorMessage()).isEmpty());
    assertThat(responses).hasSizeGreaterThan(2);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < responses.size(); i++) {
      ModelInferResponse r = responses.get(i).getInferResponse();
      assertThat(r.getId()).isEqualTo("ask-1");
      assertThat(r.getModelName()).isEqualTo("ferret_llm");
      assertThat(r.getModelVersion()).isEqualTo("1");
      boolean last = i == responses.size() - 1;
      assertThat(r.getParametersOrThrow(InferenceService.FINAL_RESPONSE).getBoolParam())
          .isEqualTo(last);
      if (last) {
        assertThat(r.getOutputsCount()).isZero();
      } else {
        assertThat(r.getOutputs(0).getName()).isEqualTo("text_output");
        assertThat(r.getOutputs(0).getShapeList()).containsExactly(1L);
        text.append(
            TensorCodec.bytesTensorToStrings(r.getRawOutputContents(0).toByteArray()).get(0));
      }
    }
    // cells rows 10..19, cols 30..39 of 48x48 -> [30*1000/48, 10*1000/48, 40*1000/48-1,
    // 20*1000/48-1]
    assertThat(text).hasToString("The red object is at [625, 208, 832, 415].");
  }

  @Test
  void ferretLlmReportsBadInputOnTheStreamAndKeepsServing() throws Exception {
    ModelInferRequest bad =
        TestTensors.llmRequest(
                "bad-1", "What is this?", 2, 2, (r, c) -> new int[] {0, 0, 255}, new short[0], null)
            .setRawInputContents(
                2, ByteString.copyFrom(TensorCodec.int32Bytes(24, 24, 3, 3, 42, 42)))
            .build();
    ModelInferRequest good =
        TestTensors.llmRequest(
                "good-1",
                "What is in [0, 0, 999, 999] <region_fea>?",
                2,
                2,
                (r, c) -> new int[] {0, 0, 255},
                TestTensors.regionRows(new int[] {0, 160, 0}),
                "{\"max_tokens\": 2, \"temperature\": 0.7, \"seed\": 3}")
            .build();
    List<ModelStreamInferResponse> responses = stream(bad, good);

    List<ModelStreamInferResponse> errors =
        responses.stream().filter(r -> !r.getErrorMessage().isEmpty()).toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).getInferResponse().getId()).isEqualTo("bad-1");
    assertThat(errors.get(0).getErrorMessage()).contains("image_tokens has 580 rows", "3x3");

    List<String> pieces = new ArrayList<>();
    for (ModelStreamInferResponse r : responses) {
      if (r.getInferResponse().getId().equals("good-1")
          && r.getInferResponse().getOutputsCount() > 0) {
        pieces.add(
            TensorCodec.bytesTensorToStrings(
                    r.getInferResponse().getRawOutputContents(0).toByteArray())
                .get(0));
      }
    }
    assertThat(pieces).containsExactly("It", " is"); // "It is green." cut by max_tokens = 2
  }

  @Test
  void ferretLlmRefusesUnaryModelInfer() {
    ModelInferRequest request =
        TestTensors.llmRequest("u-1", "Hi", 1, 1, (r, c) -> new int[] {0, 0, 0}, new short[0], null)
            .build();
    assertThatThrownBy(() -> stub().modelInfer(request))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e.getStatus().getDescription()).contains("ModelStreamInfer");
            });
  }

  @Test
  void unknownModelIsNotFoundAndNotReady() {
    assertThat(stub().modelReady(ModelReadyRequest.newBuilder().setName("nope").build()).getReady())
        .isFalse();
    assertThatThrownBy(
            () ->
                stub()
                    .modelInfer(
                        ModelInferRequest.newBuilder()
                            .setModelName("nope")
                            .addInputs(input("pixels", "UINT8", 1))
                            .addRawInputContents(ByteString.copyFrom(new byte[1]))
                            .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription()).contains("nope", "clip_vision");
            });
    assertThatThrownBy(
            () -> stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("nope").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void wrongShapeIsInvalidArgumentSayingWhatDiffers() {
    assertThatThrownBy(
            () ->
                stub()
                    .modelInfer(
                        ModelInferRequest.newBuilder()
                            .setModelName("clip_vision")
                            .addInputs(input("pixels", "UINT8", 1, 224, 224, 3))
                            .addRawInputContents(ByteString.copyFrom(new byte[224 * 224 * 3]))
                            .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .contains("pixels", "[1, 224, 224, 3]", "[-1, 336, 336, 3]", "dimension 1");
            });
  }

  @Test
  void manyConcurrentRequestsAreInFlightAndBatchedTogether() throws Exception {
    int n = 16;
    ModelStatistics before = stats("clip_vision");
    List<com.google.common.util.concurrent.ListenableFuture<ModelInferResponse>> futures =
        new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(
          GRPCInferenceServiceGrpc.newFutureStub(channel)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .modelInfer(
                  ModelInferRequest.newBuilder()
                      .setModelName("clip_vision")
                      .setId("c" + i)
                      .addInputs(input("pixels", "UINT8", 1, 336, 336, 3))
                      .addRawInputContents(
                          ByteString.copyFrom(TestTensors.solidTiles(new int[] {i * 15, 0, 0})))
                      .build()));
    }
    for (int i = 0; i < n; i++) {
      ModelInferResponse r = futures.get(i).get(60, TimeUnit.SECONDS);
      assertThat(r.getId()).isEqualTo("c" + i);
      float red =
          TensorCodec.fp16ToFloats(r.getRawOutputContents(0).substring(0, 2).toByteArray())[0];
      assertThat((red * CLIP_STD[0] + CLIP_MEAN[0]) * 255f).isCloseTo(i * 15f, within(2f));
    }
    ModelStatistics after = stats("clip_vision");
    assertThat(after.getInferenceCount() - before.getInferenceCount()).isEqualTo(n);
    assertThat(
            after.getInferenceStats().getSuccess().getCount()
                - before.getInferenceStats().getSuccess().getCount())
        .isEqualTo(n);
    // how many batches the 16 requests formed depends on timing; never more than one each
    assertThat(after.getExecutionCount() - before.getExecutionCount()).isBetween(1L, (long) n);
  }

  @Test
  void servesPrometheusMetricsForEveryModel() throws Exception {
    stub()
        .modelInfer(
            ModelInferRequest.newBuilder()
                .setModelName("dinov2_vision")
                .addInputs(input("pixels", "UINT8", 1, 336, 336, 3))
                .addRawInputContents(ByteString.copyFrom(new byte[336 * 336 * 3]))
                .build());
    assertThat(server.metricsPort()).isPositive();

    java.net.http.HttpResponse<String> response =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            "http://localhost:" + server.metricsPort() + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    List<String> lines = response.body().lines().toList();
    for (String model :
        List.of("clip_vision", "dinov2_vision", "ferret_region_sampler", "ferret_llm")) {
      assertThat(lines)
          .anyMatch(
              l ->
                  l.startsWith(
                      "nv_inference_pending_request_count{model=\"" + model + "\",version=\"1\"}"));
    }
    assertThat(lines)
        .filteredOn(
            l ->
                l.startsWith("nv_inference_request_success{model=\"dinov2_vision\",version=\"1\"}"))
        .singleElement()
        .satisfies(
            l -> assertThat(Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).isPositive());
  }

  static ModelStatistics stats(String model) {
    return stub()
        .modelStatistics(ModelStatisticsRequest.newBuilder().setName(model).build())
        .getModelStats(0);
  }

  /**
   * Sends the requests on one stream, half-closes, and collects every response until completion.
   */
  static List<ModelStreamInferResponse> stream(ModelInferRequest... requests) throws Exception {
    List<ModelStreamInferResponse> responses = new ArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> out =
        GRPCInferenceServiceGrpc.newStub(channel)
            .withDeadlineAfter(60, TimeUnit.SECONDS)
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
                    done.complete(null);
                  }
                });
    for (ModelInferRequest r : requests) {
      out.onNext(r);
    }
    out.onCompleted();
    done.get(60, TimeUnit.SECONDS);
    synchronized (responses) {
      return List.copyOf(responses);
    }
  }
}

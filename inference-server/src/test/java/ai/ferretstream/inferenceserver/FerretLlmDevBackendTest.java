package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.CHANNELS;
import static ai.ferretstream.inferenceserver.TestTensors.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FerretLlmDevBackendTest {

  static final ModelConfig CONFIG;

  static {
    try {
      CONFIG = ModelConfigs.read(Path.of("model-repository", "ferret_llm"));
    } catch (java.io.IOException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final FerretLlmDevBackend backend = new FerretLlmDevBackend(CONFIG);

  /** Runs a request through decoding and the backend; returns the streamed pieces. */
  List<String> run(ModelInferRequest request, List<Boolean> lastFlags) {
    return run(backend, CONFIG, request, lastFlags);
  }

  /** {@link #run(ModelInferRequest, List)} on a backend of another config. */
  static List<String> run(
      FerretLlmDevBackend backend,
      ModelConfig config,
      ModelInferRequest request,
      List<Boolean> lastFlags) {
    InferInputs inputs = RequestDecoder.decode(request, config);
    List<String> pieces = new ArrayList<>();
    backend.execute(
        inputs,
        List.of("text_output"),
        new ModelBackend.ResponseSink() {
          @Override
          public void send(List<Tensor> outputs, boolean last) {
            assertThat(outputs)
                .singleElement()
                .satisfies(
                    t -> {
                      assertThat(t.name()).isEqualTo("text_output");
                      assertThat(t.shape()).containsExactly(1);
                    });
            pieces.add(
                TensorCodec.bytesTensorToStrings(outputs.get(0).data().toByteArray()).get(0));
            lastFlags.add(last);
          }

          @Override
          public boolean cancelled() {
            return false;
          }
        });
    return pieces;
  }

  @Test
  void describesTheImageFromTheLocalCellsPieceByPiece() {
    List<Boolean> last = new ArrayList<>();
    ModelInferRequest r =
        TestTensors.llmRequest(
                "d",
                "What is in the image?",
                4,
                4,
                (row, col) -> row < 3 ? new int[] {255, 255, 0} : new int[] {0, 0, 0},
                new short[0],
                null)
            .build();

    List<String> pieces = run(r, last);

    assertThat(String.join("", pieces))
        .isEqualTo("This is the Ferret Stream dev model. The image shows yellow and black.");
    assertThat(pieces).startsWith("This", " is", " the");
    assertThat(last).last().isEqualTo(true);
    assertThat(last.subList(0, last.size() - 1)).containsOnly(false);
  }

  @Test
  void appliesMaxTokensAndStopFromSamplingParameters() {
    ModelInferRequest r =
        TestTensors.llmRequest(
                "s",
                "Where is the red object?",
                2,
                2,
                (row, col) -> new int[] {255, 0, 0},
                new short[0],
                "{\"max_tokens\": 50, \"stop\": [\" at\"]}")
            .build();

    assertThat(String.join("", run(r, new ArrayList<>()))).isEqualTo("The red object is");
  }

  @Test
  void rejectsTokensThatDoNotMatchTheLayout() {
    ModelInferRequest r =
        TestTensors.llmRequest(
                "x", "Hi", 2, 2, (row, col) -> new int[] {0, 0, 0}, new short[0], null)
            .setRawInputContents(
                2, ByteString.copyFrom(TensorCodec.int32Bytes(24, 24, 2, 3, 42, 28)))
            .build();

    assertInvalid(
        r,
        "image_tokens has 580 rows but image_layout [24, 24, 2, 3, 42, 28] implies 24x24 global + 2x3 local = 582");
  }

  @Test
  void rejectsANonPositiveLayout() {
    ModelInferRequest r =
        TestTensors.llmRequest(
                "x", "Hi", 2, 2, (row, col) -> new int[] {0, 0, 0}, new short[0], null)
            .setRawInputContents(
                2, ByteString.copyFrom(TensorCodec.int32Bytes(24, 24, 2, 2, 0, 28)))
            .build();

    assertInvalid(r, "positive image_width and image_height");
  }

  @Test
  void rejectsBadSamplingParameters() {
    ModelInferRequest r =
        TestTensors.llmRequest(
                "x",
                "Hi",
                1,
                1,
                (row, col) -> new int[] {0, 0, 0},
                new short[0],
                "{\"max_tokens\": -1}")
            .build();

    assertInvalid(r, "sampling_parameters.max_tokens must be an integer >= 1");
  }

  @Test
  void rejectsRegionEmbeddingsOfTheWrongWidth() {
    ModelInferRequest r =
        TestTensors.llmRequest(
                "x", "Hi", 1, 1, (row, col) -> new int[] {0, 0, 0}, new short[0], null)
            .setInputs(3, input("region_embeddings", "FP16", 1, 512))
            .setRawInputContents(3, ByteString.copyFrom(new byte[1024]))
            .build();

    assertThatThrownBy(() -> RequestDecoder.decode(r, CONFIG))
        .hasMessageContaining("dimension 1 is 512, expected " + CHANNELS);
  }

  @Test
  void refusesAConfigThatDoesNotFitTheImplementation() {
    ModelConfig wrong =
        CONFIG.toBuilder()
            .clearModelTransactionPolicy()
            .setInput(1, CONFIG.getInput(1).toBuilder().clearDims().addDims(-1).addDims(4096))
            .build();

    assertThatThrownBy(() -> new FerretLlmDevBackend(wrong))
        .hasMessageContaining("needs model_transaction_policy { decoupled: true }")
        .hasMessageContaining("'image_tokens' must have dims [-1, 1024], has [-1, 4096]");
  }

  /**
   * Region embeddings come from the region sampler's output Linear, in the LLM's width D: a config
   * may declare any D (the dev model reads channels 0..2 of each row at that width).
   */
  @Test
  void takesRegionEmbeddingsOfTheWidthTheConfigDeclares() {
    int d = 4096;
    ModelConfig wide =
        CONFIG.toBuilder()
            .setInput(3, CONFIG.getInput(3).toBuilder().clearDims().addDims(-1).addDims(d))
            .build();
    short[] narrow = TestTensors.regionRows(new int[] {0, 160, 0});
    short[] rows = new short[d];
    System.arraycopy(narrow, 0, rows, 0, 3);
    rows[d - 1] = narrow[0]; // a value past the dev width, which must not be read as row 2's
    ModelInferRequest r =
        TestTensors.llmRequest(
                "w",
                "What is in [10, 20, 300, 400] <region_fea>?",
                2,
                2,
                (row, col) -> new int[] {0, 0, 255},
                new short[0],
                null)
            .setInputs(3, input("region_embeddings", "FP16", 1, d))
            .setRawInputContents(3, TestTensors.fp16(rows))
            .build();
    List<String> pieces = run(new FerretLlmDevBackend(wide), wide, r, new ArrayList<>());
    assertThat(String.join("", pieces)).isEqualTo("It is green.");
    // the dev width's request does not fit the wide config
    assertThatThrownBy(
            () ->
                RequestDecoder.decode(
                    TestTensors.llmRequest(
                            "n",
                            "What is in <region_fea>?",
                            2,
                            2,
                            (x, y) -> new int[3],
                            narrow,
                            null)
                        .build(),
                    wide))
        .hasMessageContaining("expected " + d);
  }

  @Test
  void refusesRegionEmbeddingsTooNarrowToHoldAColour() {
    ModelConfig tooNarrow =
        CONFIG.toBuilder()
            .setInput(3, CONFIG.getInput(3).toBuilder().clearDims().addDims(-1).addDims(2))
            .build();
    assertThatThrownBy(() -> new FerretLlmDevBackend(tooNarrow))
        .hasMessageContaining(
            "'region_embeddings' must have dims [-1, D] (D: the LLM's hidden size, at least 3),"
                + " has [-1, 2]");
  }

  private void assertInvalid(ModelInferRequest r, String message) {
    assertThatThrownBy(() -> run(r, new ArrayList<>()))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining(message);
  }
}

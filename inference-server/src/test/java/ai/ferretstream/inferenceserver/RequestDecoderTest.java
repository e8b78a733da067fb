package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.inference.InferTensorContents;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferInputTensor;
import ai.ferretstream.proto.inference.ModelInferRequest.InferRequestedOutputTensor;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class RequestDecoderTest {

  static final ModelConfig BATCHED =
      ModelConfigs.parse(
          """
          name: "enc"
          platform: "onnxruntime_onnx"
          max_batch_size: 4
          input [ { name: "pixels" data_type: TYPE_UINT8 dims: [ 2, 3 ] } ]
          output [ { name: "features" data_type: TYPE_FP16 dims: [ 5 ] },
                   { name: "extra" data_type: TYPE_FP32 dims: [ 1 ] } ]
          """,
          "enc");
  static final ModelConfig UNBATCHED =
      ModelConfigs.parse(
          """
          name: "llm"
          backend: "java"
          input [ { name: "prompt" data_type: TYPE_STRING dims: [ 1 ] },
                  { name: "points" data_type: TYPE_FP32 dims: [ -1, 2 ] },
                  { name: "opt" data_type: TYPE_STRING dims: [ 1 ] optional: true } ]
          output [ { name: "text" data_type: TYPE_STRING dims: [ 1 ] } ]
          """,
          "llm");

  static ModelInferRequest pixels(long batch, int bytes) {
    return ModelInferRequest.newBuilder()
        .setModelName("enc")
        .addInputs(input("pixels", "UINT8", batch, 2, 3))
        .addRawInputContents(ByteString.copyFrom(new byte[bytes]))
        .build();
  }

  @Test
  void decodesRawInputsWithTheirBatchSize() {
    InferInputs in = RequestDecoder.decode(pixels(3, 18), BATCHED);

    assertThat(in.batchSize()).isEqualTo(3);
    assertThat(in.get("pixels").shape()).containsExactly(3, 2, 3);
    assertThat(in.get("pixels").data().size()).isEqualTo(18);
  }

  @Test
  void rejectsAnUnknownInputNamingTheExpectedOnes() {
    ModelInferRequest r =
        ModelInferRequest.newBuilder()
            .addInputs(input("image", "UINT8", 1, 2, 3))
            .addRawInputContents(ByteString.copyFrom(new byte[6]))
            .build();

    assertInvalid(r, BATCHED, "unknown input 'image' for model 'enc' (it has inputs [pixels])");
  }

  @Test
  void rejectsAWrongDatatype() {
    ModelInferRequest r =
        ModelInferRequest.newBuilder()
            .addInputs(input("pixels", "FP32", 1, 2, 3))
            .addRawInputContents(ByteString.copyFrom(new byte[24]))
            .build();

    assertInvalid(r, BATCHED, "input 'pixels' has datatype FP32 but model 'enc' expects UINT8");
  }

  @Test
  void rejectsAWrongRankOrDimension() {
    ModelInferRequest rank =
        ModelInferRequest.newBuilder()
            .addInputs(input("pixels", "UINT8", 2, 3))
            .addRawInputContents(ByteString.copyFrom(new byte[6]))
            .build();
    ModelInferRequest dim =
        ModelInferRequest.newBuilder()
            .addInputs(input("pixels", "UINT8", 1, 2, 4))
            .addRawInputContents(ByteString.copyFrom(new byte[8]))
            .build();

    assertInvalid(rank, BATCHED, "expects [-1, 2, 3] (rank 2 vs 3)");
    assertInvalid(dim, BATCHED, "dimension 2 is 4, expected 3");
  }

  @Test
  void rejectsABatchAboveMaxBatchSize() {
    assertInvalid(pixels(5, 30), BATCHED, "batch size 5 but model 'enc' accepts 1 to 4");
    assertInvalid(pixels(0, 0), BATCHED, "batch size 0");
  }

  @Test
  void rejectsAByteCountThatDoesNotMatchTheShape() {
    assertInvalid(
        pixels(2, 11),
        BATCHED,
        "input 'pixels' has 11 bytes but shape [2, 2, 3] of UINT8 needs 12");
  }

  @Test
  void rejectsMissingRequiredInputsButNotMissingOptionalOnes() {
    ModelInferRequest onlyPrompt =
        ModelInferRequest.newBuilder()
            .addInputs(input("prompt", "BYTES", 1))
            .addRawInputContents(TestTensors.strings("hi"))
            .build();
    ModelInferRequest withoutOptional =
        onlyPrompt.toBuilder()
            .addInputs(input("points", "FP32", 0, 2))
            .addRawInputContents(ByteString.EMPTY)
            .build();

    assertInvalid(onlyPrompt, UNBATCHED, "missing input(s) [points]");
    assertThat(RequestDecoder.decode(withoutOptional, UNBATCHED).optional("opt")).isEmpty();
  }

  @Test
  void checksTheElementCountOfBytesTensors() {
    ModelInferRequest two =
        ModelInferRequest.newBuilder()
            .addInputs(input("prompt", "BYTES", 1))
            .addRawInputContents(TestTensors.strings("a", "b"))
            .addInputs(input("points", "FP32", 0, 2))
            .addRawInputContents(ByteString.EMPTY)
            .build();
    ModelInferRequest truncated =
        two.toBuilder()
            .setRawInputContents(0, ByteString.copyFrom(new byte[] {9, 0, 0, 0, 'a'}))
            .build();

    assertInvalid(two, UNBATCHED, "input 'prompt' holds 2 BYTES elements but shape [1] needs 1");
    assertInvalid(truncated, UNBATCHED, "element 0 claims 9 bytes but only 1 remain");
  }

  @Test
  void decodesTypedContentsWhenNoRawContentsAreSent() {
    ModelInferRequest typed =
        ModelInferRequest.newBuilder()
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName("prompt")
                    .setDatatype("BYTES")
                    .addShape(1)
                    .setContents(
                        InferTensorContents.newBuilder()
                            .addBytesContents(ByteString.copyFromUtf8("hello"))))
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName("points")
                    .setDatatype("FP32")
                    .addShape(1)
                    .addShape(2)
                    .setContents(
                        InferTensorContents.newBuilder()
                            .addFp32Contents(0.25f)
                            .addFp32Contents(2f)))
            .build();

    InferInputs in = RequestDecoder.decode(typed, UNBATCHED);

    assertThat(TensorCodec.bytesTensorToStrings(in.get("prompt").data().toByteArray()))
        .containsExactly("hello");
    assertThat(TensorCodec.fp32ToFloats(in.get("points").data().toByteArray()))
        .containsExactly(0.25f, 2f);
  }

  @Test
  void decodesTypedUint8AndRejectsOverflow() {
    InferInputTensor.Builder t =
        InferInputTensor.newBuilder()
            .setName("pixels")
            .setDatatype("UINT8")
            .addShape(1)
            .addShape(2)
            .addShape(3);
    InferTensorContents.Builder ok = InferTensorContents.newBuilder();
    for (int i = 0; i < 6; i++) {
      ok.addUintContents(250 + i);
    }
    InferTensorContents bad = ok.clone().setUintContents(0, 256).build();

    InferInputs in =
        RequestDecoder.decode(
            ModelInferRequest.newBuilder().addInputs(t.clone().setContents(ok)).build(), BATCHED);

    assertThat(in.get("pixels").data().toByteArray())
        .containsExactly((byte) 250, (byte) 251, (byte) 252, (byte) 253, (byte) 254, (byte) 255);
    assertInvalid(
        ModelInferRequest.newBuilder().addInputs(t.clone().setContents(bad)).build(),
        BATCHED,
        "value 256 overflows UINT8");
  }

  @Test
  void fp16MustBeSentRaw() {
    ModelConfig fp16 =
        ModelConfigs.parse(
            """
            name: "s"
            platform: "onnxruntime_onnx"
            input [ { name: "f" data_type: TYPE_FP16 dims: [ 2 ] } ]
            output [ { name: "o" data_type: TYPE_FP16 dims: [ 2 ] } ]
            """,
            "s");
    ModelInferRequest typed =
        ModelInferRequest.newBuilder()
            .addInputs(
                input("f", "FP16", 2).toBuilder().setContents(InferTensorContents.newBuilder()))
            .build();

    assertInvalid(
        typed, fp16, "FP16, which has no typed contents field: send it in raw_input_contents");
  }

  @Test
  void rejectsMixingRawAndTypedContentsAndAMiscountOfRawEntries() {
    ModelInferRequest mixed =
        pixels(1, 6).toBuilder()
            .setInputs(
                0,
                input("pixels", "UINT8", 1, 2, 3).toBuilder()
                    .setContents(InferTensorContents.newBuilder().addUintContents(1)))
            .build();
    ModelInferRequest miscount =
        pixels(1, 6).toBuilder().addRawInputContents(ByteString.copyFrom(new byte[1])).build();

    assertInvalid(mixed, BATCHED, "sets contents although raw_input_contents is used");
    assertInvalid(
        miscount, BATCHED, "has 1 inputs outside shared memory but 2 raw_input_contents entries");
  }

  @Test
  void requestedOutputsDefaultToAllAndMustExist() {
    ModelInferRequest one =
        pixels(1, 6).toBuilder()
            .addOutputs(InferRequestedOutputTensor.newBuilder().setName("extra"))
            .build();
    ModelInferRequest unknown =
        pixels(1, 6).toBuilder()
            .addOutputs(InferRequestedOutputTensor.newBuilder().setName("logits"))
            .build();

    assertThat(RequestDecoder.requestedOutputs(pixels(1, 6), BATCHED))
        .containsExactly("features", "extra");
    assertThat(RequestDecoder.requestedOutputs(one, BATCHED)).containsExactly("extra");
    assertThatThrownBy(() -> RequestDecoder.requestedOutputs(unknown, BATCHED))
        .hasMessageContaining(
            "unknown output 'logits' requested from model 'enc' (it has outputs [features, extra])");
  }

  private static void assertInvalid(ModelInferRequest r, ModelConfig config, String message) {
    assertThatThrownBy(() -> RequestDecoder.decode(r, config))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining(message);
  }
}

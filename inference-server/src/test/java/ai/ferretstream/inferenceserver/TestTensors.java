package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.InferParameter;
import ai.ferretstream.proto.inference.ModelInferRequest;
import ai.ferretstream.proto.inference.ModelInferRequest.InferInputTensor;
import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Builders for the tensors and requests the tests send. */
final class TestTensors {

  static final int TILE = 336;
  static final int CHANNELS = 1024;

  static final String TEMPLATE =
      "A chat between a human and an AI that understands visuals. In images, [x, y] denotes"
          + " points: top-left [0, 0], bottom-right [width-1, height-1]. Increasing x moves right;"
          + " y moves down. Bounding box: [x1, y1, x2, y2]. Image size: 1000x1000. Follow"
          + " instructions.  USER: <image>\n%s ASSISTANT:";

  private TestTensors() {}

  static String prompt(String question) {
    return String.format(TEMPLATE, question);
  }

  /** UINT8 [n,336,336,3] tiles, tile i filled with colours[i] = {r, g, b}. */
  static byte[] solidTiles(int[]... colours) {
    byte[] out = new byte[colours.length * TILE * TILE * 3];
    int p = 0;
    for (int[] c : colours) {
      for (int i = 0; i < TILE * TILE; i++) {
        out[p++] = (byte) c[0];
        out[p++] = (byte) c[1];
        out[p++] = (byte) c[2];
      }
    }
    return out;
  }

  /**
   * FP16 [rows,1024] rows whose first three channels hold the given RGB (0..255) normalised with
   * mean/std, the other channels zero.
   */
  static void putColour(short[] halves, int row, int[] rgb, float[] mean, float[] std) {
    for (int ch = 0; ch < 3; ch++) {
      halves[row * CHANNELS + ch] = Fp16.fromFloat((rgb[ch] / 255f - mean[ch]) / std[ch]);
    }
  }

  static ByteString fp16(short[] halves) {
    ByteBuffer buf = ByteBuffer.allocate(halves.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    buf.asShortBuffer().put(halves);
    return ByteString.copyFrom(buf.array());
  }

  static InferInputTensor input(String name, String datatype, long... shape) {
    InferInputTensor.Builder b = InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
    for (long d : shape) {
      b.addShape(d);
    }
    return b.build();
  }

  static ByteString strings(String... values) {
    return ByteString.copyFrom(TensorCodec.stringsToBytesTensor(List.of(values)));
  }

  /**
   * A ferret_llm request over a local map of localRows x localCols cells: the global map is grey,
   * local cells are white except those set by {@code paint}.
   */
  static ModelInferRequest.Builder llmRequest(
      String id,
      String question,
      int localRows,
      int localCols,
      CellPainter paint,
      short[] regionRows,
      String samplingJson) {
    int global = 576;
    int local = localRows * localCols;
    short[] tokens = new short[(global + local) * CHANNELS];
    for (int i = 0; i < global; i++) {
      putColour(
          tokens, i, new int[] {128, 128, 128}, FerretDevLlm.CLIP_MEAN, FerretDevLlm.CLIP_STD);
    }
    for (int r = 0; r < localRows; r++) {
      for (int c = 0; c < localCols; c++) {
        int[] rgb = paint.colour(r, c);
        putColour(
            tokens,
            global + r * localCols + c,
            rgb,
            FerretDevLlm.IMAGENET_MEAN,
            FerretDevLlm.IMAGENET_STD);
      }
    }
    int regions = regionRows.length / CHANNELS;
    ModelInferRequest.Builder b =
        ModelInferRequest.newBuilder()
            .setModelName("ferret_llm")
            .setId(id)
            .putParameters(
                InferenceService.ENABLE_EMPTY_FINAL,
                InferParameter.newBuilder().setBoolParam(true).build())
            .addInputs(input("prompt", "BYTES", 1))
            .addRawInputContents(strings(prompt(question)))
            .addInputs(input("image_tokens", "FP16", global + local, CHANNELS))
            .addRawInputContents(fp16(tokens))
            .addInputs(input("image_layout", "INT32", 6))
            .addRawInputContents(
                ByteString.copyFrom(
                    TensorCodec.int32Bytes(
                        24, 24, localRows, localCols, localCols * 14, localRows * 14)))
            .addInputs(input("region_embeddings", "FP16", regions, CHANNELS))
            .addRawInputContents(fp16(regionRows));
    if (samplingJson != null) {
      b.addInputs(input("sampling_parameters", "BYTES", 1))
          .addRawInputContents(strings(samplingJson));
    }
    return b;
  }

  /** The RGB of a local cell. */
  interface CellPainter {
    int[] colour(int row, int col);
  }

  /** One region row whose H_a first channels encode colour rgb (local ImageNet + global CLIP). */
  static short[] regionRows(int[]... colours) {
    short[] rows = new short[colours.length * CHANNELS];
    for (int k = 0; k < colours.length; k++) {
      for (int ch = 0; ch < 3; ch++) {
        float c = colours[k][ch] / 255f;
        float h =
            (c - FerretDevLlm.IMAGENET_MEAN[ch]) / FerretDevLlm.IMAGENET_STD[ch]
                + (c - FerretDevLlm.CLIP_MEAN[ch]) / FerretDevLlm.CLIP_STD[ch];
        rows[k * CHANNELS + ch] = Fp16.fromFloat(h);
      }
    }
    return rows;
  }

  /** Runs {@code backend} on {@code inputs} and returns the outputs it sends. */
  static List<Tensor> execute(
      ModelBackend backend, java.util.Map<String, Tensor> inputs, int batch, List<String> outputs) {
    List<Tensor> out = new java.util.ArrayList<>();
    backend.execute(
        new InferInputs(inputs, batch),
        outputs,
        new ModelBackend.ResponseSink() {
          @Override
          public void send(List<Tensor> sent, boolean last) {
            out.addAll(sent);
          }

          @Override
          public boolean cancelled() {
            return false;
          }
        });
    return out;
  }
}

package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.DataType;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelInput;
import ai.ferretstream.proto.inference.ModelOutput;
import ai.ferretstream.proto.tensor.Fp16;
import ai.ferretstream.proto.tensor.TensorCodec;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The DEV {@code ferret_llm} ({@code backend: "java"}, implementation {@code ferret_llm_dev}):
 * decoupled, streams one {@code text_output} piece per response. Decodes and checks the inputs,
 * then hands the colour channels to {@link FerretDevLlm}.
 */
final class FerretLlmDevBackend implements ModelBackend {

  static final String IMPLEMENTATION = "ferret_llm_dev";
  static final int CHANNELS = 1024;

  /**
   * In {@link Expected#dims}: the LLM's hidden size D, which the config fixes (any D >= 3: the dev
   * model reads channels 0..2). The region sampler's output Linear maps into it, so {@code
   * region_embeddings} is {@code [-1, D]}: 1024 with the dev sampler, 4096 with a real-shape one.
   */
  static final long HIDDEN_SIZE = Long.MIN_VALUE;

  private record Expected(String name, DataType type, long[] dims, boolean optional) {}

  private static final List<Expected> INPUTS =
      List.of(
          new Expected("prompt", DataType.TYPE_STRING, new long[] {1}, false),
          new Expected("image_tokens", DataType.TYPE_FP16, new long[] {-1, CHANNELS}, false),
          new Expected("image_layout", DataType.TYPE_INT32, new long[] {6}, false),
          new Expected(
              "region_embeddings", DataType.TYPE_FP16, new long[] {-1, HIDDEN_SIZE}, false),
          new Expected("sampling_parameters", DataType.TYPE_STRING, new long[] {1}, true));
  private static final Expected OUTPUT =
      new Expected("text_output", DataType.TYPE_STRING, new long[] {1}, false);

  /** Model parameter: milliseconds between streamed pieces, emulating a GPU's decode rate. */
  static final String TOKEN_INTERVAL_MS = "token_interval_ms";

  private final long tokenIntervalMillis;

  FerretLlmDevBackend(ModelConfig config) {
    List<String> problems = new ArrayList<>();
    String interval = ModelConfigs.stringParameter(config, TOKEN_INTERVAL_MS, "0").trim();
    long parsed = -1;
    try {
      parsed = Long.parseLong(interval);
    } catch (NumberFormatException e) {
      // reported below
    }
    if (parsed < 0) {
      problems.add(
          "parameter " + TOKEN_INTERVAL_MS + " must be a whole number >= 0, is " + interval);
    }
    this.tokenIntervalMillis = Math.max(0, parsed);
    if (!ModelConfigs.decoupled(config)) {
      problems.add("needs model_transaction_policy { decoupled: true }");
    }
    if (config.getMaxBatchSize() != 0) {
      problems.add("needs max_batch_size: 0, has " + config.getMaxBatchSize());
    }
    Map<String, ModelInput> inputs =
        config.getInputList().stream()
            .collect(Collectors.toMap(ModelInput::getName, Function.identity()));
    for (Expected e : INPUTS) {
      ModelInput in = inputs.remove(e.name());
      if (in == null) {
        problems.add("missing input '" + e.name() + "'");
      } else {
        check(e, in.getDataType(), in.getDimsList(), problems);
        if (in.getOptional() != e.optional()) {
          problems.add(
              "input '" + e.name() + "' must " + (e.optional() ? "" : "not ") + "be optional");
        }
      }
    }
    if (!inputs.isEmpty()) {
      problems.add("unexpected input(s) " + inputs.keySet());
    }
    if (config.getOutputCount() != 1) {
      problems.add("needs exactly one output 'text_output'");
    } else {
      ModelOutput out = config.getOutput(0);
      if (!out.getName().equals(OUTPUT.name())) {
        problems.add("output must be named 'text_output', is '" + out.getName() + "'");
      }
      check(OUTPUT, out.getDataType(), out.getDimsList(), problems);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "model '"
              + config.getName()
              + "' (implementation "
              + IMPLEMENTATION
              + "): "
              + String.join("; ", problems));
    }
  }

  private static void check(Expected e, DataType type, List<Long> dims, List<String> problems) {
    if (type != e.type()) {
      problems.add("'" + e.name() + "' must be " + e.type() + ", is " + type);
    }
    long[] have = dims.stream().mapToLong(Long::longValue).toArray();
    boolean matches = have.length == e.dims().length;
    for (int i = 0; matches && i < have.length; i++) {
      long want = e.dims()[i];
      matches = want == HIDDEN_SIZE ? have[i] >= 3 : have[i] == want;
    }
    if (!matches) {
      problems.add(
          "'"
              + e.name()
              + "' must have dims "
              + Arrays.stream(e.dims())
                  .mapToObj(d -> d == HIDDEN_SIZE ? "D" : String.valueOf(d))
                  .collect(Collectors.joining(", ", "[", "]"))
              + (Arrays.stream(e.dims()).anyMatch(d -> d == HIDDEN_SIZE)
                  ? " (D: the LLM's hidden size, at least 3)"
                  : "")
              + ", has "
              + Arrays.toString(have));
    }
  }

  @Override
  public void execute(InferInputs inputs, List<String> outputs, ResponseSink sink) {
    String prompt = single(inputs.get("prompt"));
    int[] layout = ints(inputs.get("image_layout"));
    int globalRows = layout[0];
    int globalCols = layout[1];
    int localRows = layout[2];
    int localCols = layout[3];
    if (globalRows < 1 || globalCols < 1 || localRows < 1 || localCols < 1) {
      throw InferenceException.invalid(
          "image_layout "
              + Arrays.toString(layout)
              + " must have positive global_rows, global_cols, local_rows and local_cols");
    }
    if (layout[4] < 1 || layout[5] < 1) {
      throw InferenceException.invalid(
          "image_layout "
              + Arrays.toString(layout)
              + " must have a positive image_width and image_height");
    }
    Tensor tokens = inputs.get("image_tokens");
    long globalCells = (long) globalRows * globalCols;
    long localCells = (long) localRows * localCols;
    if (tokens.dim(0) != globalCells + localCells) {
      throw InferenceException.invalid(
          "image_tokens has "
              + tokens.dim(0)
              + " rows but image_layout "
              + Arrays.toString(layout)
              + " implies "
              + globalRows
              + "x"
              + globalCols
              + " global + "
              + localRows
              + "x"
              + localCols
              + " local = "
              + (globalCells + localCells));
    }
    float[] local = firstChannels(tokens, (int) globalCells, (int) localCells);
    Tensor regionsTensor = inputs.get("region_embeddings");
    float[] regions = firstChannels(regionsTensor, 0, (int) regionsTensor.dim(0));
    // from the dev sampler, channels 0..2 are the region's mean colour; from a real-architecture
    // sampler they are not, and the answer is well formed but means nothing
    SamplingParameters params =
        inputs
            .optional("sampling_parameters")
            .map(t -> SamplingParameters.parse(single(t)))
            .orElse(SamplingParameters.DEFAULTS);

    String answer =
        FerretDevLlm.answer(new FerretDevLlm.Input(prompt, localRows, localCols, local, regions));
    FerretDevLlm.stream(
        AnswerPieces.split(answer),
        params,
        new FerretDevLlm.PieceSink() {
          @Override
          public void piece(String text, boolean last) {
            pace();
            sink.send(List.of(textOutput(text)), last);
          }

          @Override
          public boolean cancelled() {
            return sink.cancelled();
          }
        });
  }

  /** Waits one token interval (none by default): a GPU decodes a token every 10 to 30 ms. */
  private void pace() {
    if (tokenIntervalMillis > 0) {
      try {
        Thread.sleep(tokenIntervalMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InferenceException(io.grpc.Status.Code.CANCELLED, "interrupted while decoding");
      }
    }
  }

  static Tensor textOutput(String text) {
    return new Tensor(
        OUTPUT.name(),
        "BYTES",
        new long[] {1},
        ByteString.copyFrom(TensorCodec.stringsToBytesTensor(List.of(text))));
  }

  private static String single(Tensor t) {
    List<String> values = TensorCodec.bytesTensorToStrings(t.data().toByteArray());
    return values.get(0);
  }

  private static int[] ints(Tensor t) {
    ByteBuffer buf = t.littleEndian();
    int[] out = new int[(int) t.dim(0)];
    for (int i = 0; i < out.length; i++) {
      out[i] = buf.getInt(i * 4);
    }
    return out;
  }

  /**
   * Channels 0..2 of {@code rows} rows starting at {@code firstRow} of an FP16 [N, width] tensor.
   */
  private static float[] firstChannels(Tensor t, int firstRow, int rows) {
    ByteBuffer buf = t.littleEndian();
    long width = t.dim(1);
    float[] out = new float[rows * 3];
    for (int r = 0; r < rows; r++) {
      int base = (int) ((firstRow + r) * width * 2);
      for (int ch = 0; ch < 3; ch++) {
        out[r * 3 + ch] = Fp16.toFloat(buf.getShort(base + ch * 2));
      }
    }
    return out;
  }

  @Override
  public void close() {
    // holds no resources
  }
}

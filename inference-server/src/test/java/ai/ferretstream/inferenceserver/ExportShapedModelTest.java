package ai.ferretstream.inferenceserver;

import static ai.ferretstream.inferenceserver.TestTensors.CHANNELS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.onnxruntime.OrtEnvironment;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server loads a graph shaped like the real encoder exports (triton/README.md, "Bringing real
 * encoder weights"): UINT8 {@code pixels [batch,336,336,3]} in, FP16 {@code features
 * [batch,<symbolic>,1024]} out, a weight kept in an external data file next to {@code model.onnx},
 * checked against the encoders' config.pbtxt, and serves batches from it.
 */
class ExportShapedModelTest {

  static final float[] MEAN = {10, 20, 30};

  @Test
  void loadsAnExportWithASymbolicTokenDimensionAndExternalWeights(@TempDir Path dir)
      throws Exception {
    Path model = dir.resolve("model.onnx");
    writeExportShapedModel(model, "model.onnx.data");
    ModelConfig clip = ModelConfigs.read(Path.of("model-repository", "clip_vision"));

    try (OnnxBackend backend = OnnxBackend.load(OrtEnvironment.getEnvironment(), clip, model)) {
      int[][] colours = {{200, 30, 60}, {10, 120, 240}};
      Tensor pixels =
          new Tensor(
              "pixels",
              "UINT8",
              new long[] {2, 336, 336, 3},
              ByteString.copyFrom(TestTensors.solidTiles(colours)));
      List<Tensor> out =
          TestTensors.execute(backend, Map.of("pixels", pixels), 2, List.of("features"));

      Tensor features = out.get(0);
      assertThat(features.datatype()).isEqualTo("FP16");
      assertThat(features.shape()).containsExactly(2, 576, 1024);
      float[] f = TensorCodec.fp16ToFloats(features.data().toByteArray());
      for (int b = 0; b < 2; b++) {
        for (int ch = 0; ch < 3; ch++) {
          assertThat(f[(b * 576 + 300) * CHANNELS + ch])
              .isCloseTo(colours[b][ch] - MEAN[ch], within(0.5f));
        }
        assertThat(f[(b * 576 + 300) * CHANNELS + 3]).isZero();
      }
    }
  }

  // ---- a minimal ONNX (protobuf) writer: field numbers from onnx.proto ----

  static final int FLOAT = 1;
  static final int UINT8 = 2;
  static final int INT64 = 7;
  static final int FLOAT16 = 10;

  /**
   * pixels → Cast(float) → Transpose(NCHW) → Sub(mean, external) → AveragePool(14, stride 14) →
   * Reshape [B,3,576] → Transpose [B,576,3] → Pad to 1024 channels → Cast(fp16) → features.
   */
  static void writeExportShapedModel(Path file, String dataFile) throws IOException {
    ByteBuffer mean = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    for (float m : MEAN) {
      mean.putFloat(m);
    }
    Files.write(file.resolveSibling(dataFile), mean.array());

    List<byte[]> nodes =
        List.of(
            node("Cast", List.of("pixels"), "xf", Map.of("to", intAttr("to", FLOAT))),
            node("Transpose", List.of("xf"), "nchw", Map.of("perm", ints("perm", 0, 3, 1, 2))),
            node("Sub", List.of("nchw", "mean"), "centred", Map.of()),
            node(
                "AveragePool",
                List.of("centred"),
                "pooled",
                Map.of(
                    "kernel_shape",
                    ints("kernel_shape", 14, 14),
                    "strides",
                    ints("strides", 14, 14))),
            node("Reshape", List.of("pooled", "to_tokens"), "tokens", Map.of()),
            node("Transpose", List.of("tokens"), "nlc", Map.of("perm", ints("perm", 0, 2, 1))),
            node("Pad", List.of("nlc", "pads"), "padded", Map.of()),
            node("Cast", List.of("padded"), "features", Map.of("to", intAttr("to", FLOAT16))));
    List<byte[]> initializers =
        List.of(
            externalTensor("mean", FLOAT, new long[] {1, 3, 1, 1}, dataFile, 12),
            int64Tensor("to_tokens", 0, 3, 576),
            int64Tensor("pads", 0, 0, 0, 0, 0, 1021));

    ByteArrayOutputStream graph = new ByteArrayOutputStream();
    CodedOutputStream g = CodedOutputStream.newInstance(graph);
    for (byte[] n : nodes) {
      g.writeByteArray(1, n);
    }
    g.writeString(2, "export_shaped");
    for (byte[] t : initializers) {
      g.writeByteArray(5, t);
    }
    g.writeByteArray(11, valueInfo("pixels", UINT8, "batch", 336L, 336L, 3L));
    g.writeByteArray(12, valueInfo("features", FLOAT16, "batch", "Castfeatures_dim_1", 1024L));
    g.flush();

    ByteArrayOutputStream model = new ByteArrayOutputStream();
    CodedOutputStream m = CodedOutputStream.newInstance(model);
    m.writeInt64(1, 8); // ir_version
    m.writeString(2, "ferret-stream-test");
    m.writeByteArray(7, graph.toByteArray());
    m.writeByteArray(8, message(o -> o.writeInt64(2, 17))); // opset_import { version: 17 }
    m.flush();
    Files.write(file, model.toByteArray());
  }

  interface Body {
    void write(CodedOutputStream out) throws IOException;
  }

  static byte[] message(Body body) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    body.write(out);
    out.flush();
    return bytes.toByteArray();
  }

  static byte[] node(String op, List<String> inputs, String output, Map<String, byte[]> attrs)
      throws IOException {
    return message(
        o -> {
          for (String in : inputs) {
            o.writeString(1, in);
          }
          o.writeString(2, output);
          o.writeString(3, output + "_node");
          o.writeString(4, op);
          for (byte[] a : new LinkedHashMap<>(attrs).values()) {
            o.writeByteArray(5, a);
          }
        });
  }

  static byte[] intAttr(String name, long value) throws IOException {
    return message(
        o -> {
          o.writeString(1, name);
          o.writeInt64(3, value);
          o.writeEnum(20, 2); // INT
        });
  }

  static byte[] ints(String name, long... values) throws IOException {
    return message(
        o -> {
          o.writeString(1, name);
          for (long v : values) {
            o.writeInt64(8, v);
          }
          o.writeEnum(20, 7); // INTS
        });
  }

  static byte[] int64Tensor(String name, long... values) throws IOException {
    ByteBuffer raw = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : values) {
      raw.putLong(v);
    }
    return message(
        o -> {
          o.writeInt64(1, values.length);
          o.writeInt32(2, INT64);
          o.writeString(8, name);
          o.writeByteArray(9, raw.array());
        });
  }

  static byte[] externalTensor(String name, int type, long[] dims, String location, long length)
      throws IOException {
    return message(
        o -> {
          for (long d : dims) {
            o.writeInt64(1, d);
          }
          o.writeInt32(2, type);
          o.writeString(8, name);
          o.writeByteArray(13, entry("location", location));
          o.writeByteArray(13, entry("offset", "0"));
          o.writeByteArray(13, entry("length", Long.toString(length)));
          o.writeEnum(14, 1); // EXTERNAL
        });
  }

  static byte[] entry(String key, String value) throws IOException {
    return message(
        o -> {
          o.writeString(1, key);
          o.writeString(2, value);
        });
  }

  /** A tensor value; each dimension a Long (fixed) or a String (symbolic). */
  static byte[] valueInfo(String name, int elemType, Object... dims) throws IOException {
    byte[] shape =
        message(
            o -> {
              for (Object d : dims) {
                o.writeByteArray(
                    1,
                    message(
                        dim -> {
                          if (d instanceof Long v) {
                            dim.writeInt64(1, v);
                          } else {
                            dim.writeString(2, (String) d);
                          }
                        }));
              }
            });
    byte[] tensorType =
        message(
            o -> {
              o.writeInt32(1, elemType);
              o.writeByteArray(2, shape);
            });
    return message(
        o -> {
          o.writeString(1, name);
          o.writeByteArray(2, message(t -> t.writeByteArray(1, tensorType)));
        });
  }
}

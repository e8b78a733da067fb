package ai.ferretstream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.proto.inference.InferStatistics;
import ai.ferretstream.proto.inference.ModelMetadataRequest;
import ai.ferretstream.proto.inference.ModelMetadataResponse;
import ai.ferretstream.proto.inference.ModelStatisticsRequest;
import ai.ferretstream.testsupport.TestImages;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The real-architecture region sampler of {@code triton/region-sampler}, exported to ONNX with
 * random weights of the real shapes (d = 1024 in, D = 4096 out), served by the local stack in place
 * of the dev one: the repository {@code make_local_repository.py} builds, as {@code ./ferret up
 * --model-repository DIR} runs it. A region question gets a well-formed streamed answer (its words
 * mean nothing with random weights); the LLM takes region embeddings of width D; every region is
 * one sampler call. Prints the time per call. Needs Debian's python3-torch at /usr/bin/python3, as
 * .ci/run installs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExportedRegionSamplerIT {

  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final String SCRIPT = "triton/region-sampler/make_local_repository.py";
  static final int HIDDEN_SIZE = 4096;

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private Path repository;
  private LocalStack stack;
  private ManagedChannel channel;
  private GatewayClient gateway;
  private final String image =
      Base64.getEncoder().encodeToString(TestImages.png(TestImages.redAndBlue(640, 480)));

  @BeforeAll
  void buildTheRepositoryAndStartTheStack() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    assertThat(Files.isExecutable(PYTHON))
        .as("%s with python3-torch is needed (apt-get install python3-torch)", PYTHON)
        .isTrue();
    repository =
        Files.createTempDirectory(Path.of("target").toAbsolutePath(), "exported-sampler-")
            .resolve("repo");
    Process p =
        new ProcessBuilder(
                PYTHON.toString(),
                SCRIPT,
                "--out",
                repository.toString(),
                "--hidden-size",
                String.valueOf(HIDDEN_SIZE))
            .directory(root.toFile())
            .redirectErrorStream(true)
            .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the export finished").isTrue();
    assertThat(p.exitValue()).as("%s:%n%s", SCRIPT, output).isZero();

    stack =
        LocalStack.builder()
            .gatewayPort(0)
            .kafkaPort(0)
            .grpcPort(0)
            .modelRepository(repository)
            .start();
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", stack.grpcPort()).usePlaintext().build();
    gateway = new GatewayClient(stack.gatewayUrl(), Duration.ofMinutes(2));
  }

  @AfterAll
  void stop() throws IOException {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (stack != null) {
      stack.close();
    }
    if (repository != null) {
      // 170 MB of random weights: not left in target/
      try (var files = Files.walk(repository.getParent())) {
        for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  private GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @Test
  void theServedSamplerIsTheExportedOneAndItsWidthIsTheLlms() {
    ModelMetadataResponse sampler =
        stub()
            .modelMetadata(
                ModelMetadataRequest.newBuilder().setName("ferret_region_sampler").build());
    assertThat(sampler.getInputsList())
        .extracting(ModelMetadataResponse.TensorMetadata::getName)
        .containsExactly("features", "points", "fps_start");
    assertThat(sampler.getOutputs(0).getShapeList()).containsExactly(1L, (long) HIDDEN_SIZE);
    ModelMetadataResponse llm =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("ferret_llm").build());
    assertThat(llm.getInputsList())
        .filteredOn(t -> t.getName().equals("region_embeddings"))
        .singleElement()
        .satisfies(t -> assertThat(t.getShapeList()).containsExactly(-1L, (long) HIDDEN_SIZE));
  }

  @Test
  void aRegionQuestionIsAnsweredEndToEndWithOneSamplerCallPerRegion() throws Exception {
    // the same image without regions first: fusion's fuse step without sampler calls
    double[] plainBefore = fuseTotals();
    ObjectNode plain = JSON.createObjectNode();
    plain.put("question", "What is in the image?");
    plain.put("image", image);
    plain.put("stream", true);
    assertThat(kinds(stream(plain))).doesNotContain("error");
    double[] plainAfter = fuseTotals();

    InferStatistics before = samplerStatistics();
    double[] fuseBefore = fuseTotals();
    int asks = 3;
    for (int i = 0; i < asks; i++) {
      ObjectNode ask = JSON.createObjectNode();
      ask.put("question", "What are these regions?");
      ask.put("image", image);
      ask.put("stream", true);
      var regions = ask.putArray("regions");
      regions.addObject().putArray("box").add(64).add(72).add(256).add(240);
      regions.addObject().putArray("point").add(480).add(360);
      List<JsonNode> events = stream(ask);

      assertThat(kinds(events)).doesNotContain("error").endsWith("done").contains("delta");
      StringBuilder text = new StringBuilder();
      for (JsonNode e : events) {
        if (e.path("event").stringValue("").equals("delta")) {
          text.append(e.at("/data/text").stringValue());
        }
      }
      // the dev LLM names a colour per region from channels 0..2 of each embedding; with random
      // weights which colour is meaningless, but the answer has the shape of a two-region answer
      assertThat(text.toString()).matches("Region 1 is [a-z]+, region 2 is [a-z]+\\.");
    }

    InferStatistics after = samplerStatistics();
    long calls = after.getSuccess().getCount() - before.getSuccess().getCount();
    assertThat(calls).isEqualTo(2L * asks);
    assertThat(after.getFail().getCount()).isZero();
    double computeMs =
        (compute(after) - compute(before)) / 1e6 / calls; // input + infer + output, on the server
    double requestMs =
        (after.getSuccess().getNs() - before.getSuccess().getNs()) / 1e6 / calls; // as received
    double[] fuseAfter = fuseTotals();
    System.out.printf(
        "exported region sampler (d 1024, D %d, random weights, ONNX Runtime CPU) in the pipeline:"
            + " %d calls, %.1f ms compute and %.1f ms on the server per call; fusion's fuse step"
            + " %.1f ms for a two-region request, %.1f ms for the same image without regions%n",
        HIDDEN_SIZE,
        calls,
        computeMs,
        requestMs,
        (fuseAfter[0] - fuseBefore[0]) / (fuseAfter[1] - fuseBefore[1]),
        (plainAfter[0] - plainBefore[0]) / (plainAfter[1] - plainBefore[1]));
  }

  private static long compute(InferStatistics s) {
    return s.getComputeInput().getNs() + s.getComputeInfer().getNs() + s.getComputeOutput().getNs();
  }

  /** Fusion's {@code ferret.fusion.fuse} over every grid: total milliseconds and count. */
  private double[] fuseTotals() {
    double total = 0;
    long count = 0;
    for (Timer t : stack.meters("fusion-service").find("ferret.fusion.fuse").timers()) {
      total += t.totalTime(TimeUnit.MILLISECONDS);
      count += t.count();
    }
    return new double[] {total, count};
  }

  @Test
  void aQuestionWithoutRegionsDoesNotCallTheSampler() throws Exception {
    long callsBefore = samplerStatistics().getSuccess().getCount();
    ObjectNode ask = JSON.createObjectNode();
    ask.put("question", "What is in the image?");
    ask.put("image", image);
    ask.put("stream", true);

    assertThat(kinds(stream(ask))).doesNotContain("error").endsWith("done");
    assertThat(samplerStatistics().getSuccess().getCount()).isEqualTo(callsBefore);
  }

  private InferStatistics samplerStatistics() {
    return stub()
        .modelStatistics(
            ModelStatisticsRequest.newBuilder().setName("ferret_region_sampler").build())
        .getModelStats(0)
        .getInferenceStats();
  }

  /** The native stream's events as {@code {"event", "data"}}. */
  private List<JsonNode> stream(ObjectNode body) throws Exception {
    HttpResponse<String> response = gateway.postJson("/v1/ferret/ask", body);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return GatewayClient.events(response.body());
  }

  private static List<String> kinds(List<JsonNode> events) {
    return events.stream().map(e -> e.path("event").stringValue("message")).toList();
  }
}

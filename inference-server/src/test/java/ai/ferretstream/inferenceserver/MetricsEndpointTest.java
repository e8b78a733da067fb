package ai.ferretstream.inferenceserver;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.inferenceserver.ModelRegistry.Slot;
import ai.ferretstream.inferenceserver.ModelRegistry.State;
import ai.ferretstream.proto.inference.ModelConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsEndpointTest {

  static final ModelConfig ENCODER =
      ModelConfigs.parse(
          """
          name: "enc"
          platform: "onnxruntime_onnx"
          max_batch_size: 8
          input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] } ]
          output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
          dynamic_batching { }
          """,
          "enc");

  @Test
  void servesTritonNamedCountersAndABatchSizeHistogram() throws Exception {
    Slot slot = new Slot("enc", "1", ENCODER, null, State.LOADING, "");
    ModelRegistry registry = new ModelRegistry(Map.of("enc", List.of(slot)));
    try (registry) {
      registry.loadAll((config, dir) -> new InferenceServiceTest.Echo());
      // two executions (batches of 3 and 1) for three requests (2 + 1 rows, then 1), one failure
      slot.stats.execution(3, 1_000, 2_000_000, 3_000);
      slot.stats.success(2, 5_000_000, 1_000, 2_000_000, 3_000, 9_000_000);
      slot.stats.success(1, 4_000_000, 1_000, 2_000_000, 3_000, 8_000_000);
      slot.stats.execution(1, 1_000, 1_000_000, 2_000);
      slot.stats.success(1, 0, 1_000, 1_000_000, 2_000, 2_000_000);
      slot.stats.failure(7_000);

      try (MetricsEndpoint endpoint = MetricsEndpoint.start(0, registry)) {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + endpoint.port() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> missing =
            http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + endpoint.port() + "/x"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type"))
            .contains(MetricsEndpoint.CONTENT_TYPE);
        assertThat(response.body().lines())
            .contains(
                "# TYPE nv_inference_request_success counter",
                "nv_inference_request_success{model=\"enc\",version=\"1\"} 3",
                "nv_inference_request_failure{model=\"enc\",version=\"1\"} 1",
                "nv_inference_count{model=\"enc\",version=\"1\"} 4",
                "nv_inference_exec_count{model=\"enc\",version=\"1\"} 2",
                "nv_inference_request_duration_us{model=\"enc\",version=\"1\"} 19000",
                "nv_inference_queue_duration_us{model=\"enc\",version=\"1\"} 9000",
                "nv_inference_compute_infer_duration_us{model=\"enc\",version=\"1\"} 5000",
                "# TYPE nv_inference_pending_request_count gauge",
                "nv_inference_pending_request_count{model=\"enc\",version=\"1\"} 0",
                "# TYPE ferret_inference_batch_size histogram",
                "ferret_inference_batch_size_bucket{model=\"enc\",version=\"1\",le=\"1\"} 1",
                "ferret_inference_batch_size_bucket{model=\"enc\",version=\"1\",le=\"2\"} 1",
                "ferret_inference_batch_size_bucket{model=\"enc\",version=\"1\",le=\"4\"} 2",
                "ferret_inference_batch_size_bucket{model=\"enc\",version=\"1\",le=\"8\"} 2",
                "ferret_inference_batch_size_bucket{model=\"enc\",version=\"1\",le=\"+Inf\"} 2",
                "ferret_inference_batch_size_sum{model=\"enc\",version=\"1\"} 4",
                "ferret_inference_batch_size_count{model=\"enc\",version=\"1\"} 2");
        assertThat(missing.statusCode()).isEqualTo(404);
      }
    }
  }

  @Test
  void answersTritonHealthPathsNotReadyUntilEveryModelLoaded() throws Exception {
    Slot slot = new Slot("enc", "1", ENCODER, null, State.LOADING, "");
    ModelRegistry registry = new ModelRegistry(Map.of("enc", List.of(slot)));
    try (registry;
        MetricsEndpoint endpoint = MetricsEndpoint.start(0, registry)) {
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://localhost:" + endpoint.port();

      assertThat(status(http, base + "/v2/health/live")).isEqualTo(200);
      assertThat(status(http, base + "/v2/health/ready")).isEqualTo(503);

      registry.loadAll((config, dir) -> new InferenceServiceTest.Echo());
      assertThat(status(http, base + "/v2/health/ready")).isEqualTo(200);

      registry.close();
      assertThat(status(http, base + "/v2/health/ready")).isEqualTo(503);
      assertThat(status(http, base + "/v2/health/live")).isEqualTo(200);
    }
  }

  private static int status(HttpClient http, String url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  @Test
  void escapesLabelValues() {
    assertThat(MetricsEndpoint.escape("a\"b\\c\nd")).isEqualTo("a\\\"b\\\\c\\nd");
  }
}

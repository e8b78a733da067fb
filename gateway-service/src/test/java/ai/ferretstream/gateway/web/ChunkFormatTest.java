package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Error;
import ai.ferretstream.proto.v1.GroundedBox;
import ai.ferretstream.proto.v1.Usage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class ChunkFormatTest {

  private static final String HEAD =
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
          + "\"model\":\"ferret-v2-dev\",";

  private final ChunkFormat chunks =
      new ChunkFormat(JsonMapper.shared(), "chatcmpl-1", 1_700_000_000L, "ferret-v2-dev");

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static GroundedBox box() {
    return GroundedBox.newBuilder()
        .setPhrase("the red object")
        .setBox999(Box.newBuilder().setX1(100).setY1(150).setX2(349).setY2(499))
        .setBoxPixels(Box.newBuilder().setX1(192).setY1(162).setX2(670).setY2(538))
        .build();
  }

  @Test
  void firstChunkCarriesTheAssistantRoleAndEmptyContent() {
    assertThat(text(chunks.roleChunk()))
        .isEqualTo(
            "data: "
                + HEAD
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }

  @Test
  void contentChunksEscapeTheirTextOnOneLine() {
    assertThat(text(chunks.contentChunk("a \"red\"\nbox")))
        .isEqualTo(
            "data: "
                + HEAD
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \\\"red\\\"\\nbox\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }

  @Test
  void boxChunksHaveNoContentButTheBoxesExtension() {
    assertThat(text(chunks.boxChunk(box())))
        .isEqualTo(
            "data: "
                + HEAD
                + "\"choices\":[{\"index\":0,\"delta\":{\"boxes\":[{\"phrase\":\"the red object\","
                + "\"box\":[100,150,349,499],\"box_pixels\":[192,162,670,538]}]},"
                + "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }

  @Test
  void finishChunkHasAnEmptyDeltaAndTheReason() {
    assertThat(text(chunks.finishChunk("length")))
        .isEqualTo(
            "data: "
                + HEAD
                + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                + "\"finish_reason\":\"length\"}]}\n\n");
    assertThat(text(chunks.finishChunk(""))).contains("\"finish_reason\":\"stop\"");
  }

  @Test
  void usageChunkHasNoChoices() {
    Usage usage = Usage.newBuilder().setPromptTokens(600).setCompletionTokens(12).build();

    assertThat(text(chunks.usageChunk(usage)))
        .isEqualTo(
            "data: "
                + HEAD
                + "\"choices\":[],\"usage\":{\"prompt_tokens\":600,\"completion_tokens\":12,"
                + "\"total_tokens\":612}}\n\n");
  }

  @Test
  void usageChunkCarriesStageTimingsRelativeToTheFirstStageInTimeOrder() {
    Usage usage = Usage.newBuilder().setPromptTokens(1).setCompletionTokens(1).build();

    String text =
        text(
            chunks.usageChunk(
                usage,
                java.util.Map.of(
                    "llm.done",
                    1_000_350L,
                    "gateway.accepted",
                    1_000_000L,
                    "tiler.done",
                    1_000_040L)));

    assertThat(text)
        .endsWith(
            ",\"ferret_timings\":{\"gateway.accepted\":0,\"tiler.done\":40,\"llm.done\":350}}\n\n");
  }

  @Test
  void errorEventsUseTheOpenAiErrorShape() {
    Error error =
        Error.newBuilder()
            .setCode("invalid_image")
            .setMessage("cannot decode")
            .setStage("tiler-service")
            .build();

    assertThat(text(chunks.errorEvent(400, error)))
        .isEqualTo(
            "data: {\"error\":{\"message\":\"cannot decode\",\"type\":\"invalid_request_error\","
                + "\"param\":null,\"code\":\"invalid_image\"}}\n\n");
    assertThat(text(ChunkFormat.DONE)).isEqualTo("data: [DONE]\n\n");
  }

  @Test
  void completionBodyHoldsTheMessageBoxesAndUsage() {
    Usage usage = Usage.newBuilder().setPromptTokens(5).setCompletionTokens(3).build();

    assertThat(text(chunks.completion("It is here.", List.of(box()), "stop", usage)))
        .isEqualTo(
            "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,"
                + "\"model\":\"ferret-v2-dev\",\"choices\":[{\"index\":0,\"message\":{"
                + "\"role\":\"assistant\",\"content\":\"It is here.\",\"boxes\":[{\"phrase\":"
                + "\"the red object\",\"box\":[100,150,349,499],\"box_pixels\":[192,162,670,538]}]},"
                + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
                + "\"completion_tokens\":3,\"total_tokens\":8}}");
  }

  @Test
  void errorTypesFollowTheStatus() {
    assertThat(ApiError.typeOf(400)).isEqualTo("invalid_request_error");
    assertThat(ApiError.typeOf(413)).isEqualTo("invalid_request_error");
    assertThat(ApiError.typeOf(429)).isEqualTo("rate_limit_error");
    assertThat(ApiError.typeOf(502)).isEqualTo("server_error");
    assertThat(ApiError.typeOf(504)).isEqualTo("server_error");
  }

  @Test
  void pipelineErrorCodesMapToHttpStatuses() {
    assertThat(status("invalid_image", false)).isEqualTo(400);
    assertThat(status("invalid_request", false)).isEqualTo(400);
    assertThat(status("unsupported_region", false)).isEqualTo(400);
    assertThat(status("image_too_large", false)).isEqualTo(413);
    assertThat(status("deadline_exceeded", true)).isEqualTo(504);
    assertThat(status("inference_rejected", false)).isEqualTo(502);
    assertThat(status("stage_unavailable", true)).isEqualTo(503);
    assertThat(status("something_else", false)).isEqualTo(500);
  }

  private static int status(String code, boolean retryable) {
    return ErrorCodes.status(Error.newBuilder().setCode(code).setRetryable(retryable).build());
  }
}

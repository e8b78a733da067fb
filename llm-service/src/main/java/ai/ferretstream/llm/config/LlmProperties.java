package ai.ferretstream.llm.config;

import ai.ferretstream.llm.domain.PromptTemplate;
import ai.ferretstream.boot.inference.TritonChannels;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of llm-service ({@code ferret.*}).
 *
 * @param topics topic names and declarations (shared keys)
 * @param inference the inference server hosting the LLM (shared keys plus the model)
 * @param llm generation, streaming and listener settings of this service
 */
@ConfigurationProperties("ferret")
@Validated
public record LlmProperties(
    @Valid @DefaultValue Topics topics,
    @Valid @DefaultValue Inference inference,
    @Valid @DefaultValue Llm llm) {

  /**
   * Topic settings.
   *
   * @param prefix prefix of every topic name
   * @param partitions partitions of the topics this service declares
   * @param replication replication factor of the topics this service declares
   */
  public record Topics(
      @DefaultValue("") @NotNull String prefix,
      @DefaultValue("4") @Min(1) int partitions,
      @DefaultValue("1") @Min(1) short replication) {}

  /**
   * The inference server.
   *
   * @param target gRPC target ({@code host:port})
   * @param callTimeout deadline of the start-up check calls
   * @param maxMessageSize gRPC message size limit, both directions
   * @param keepAlive keepalive ping interval of the channel
   * @param maxAttempts attempts per call when the server is UNAVAILABLE (1 = no retry)
   * @param verifyOnStartup check the model's contract at start-up and fail fast on a mismatch
   * @param model the LLM model name (decoupled, streamed)
   * @param loadBalancing {@code pick_first} (one connection) or {@code round_robin} (every address
   *     the target resolves to, e.g. {@code dns:///triton-headless:8001} over Triton replicas)
   * @param reResolveInterval how often the target is resolved again so that added replicas get
   *     calls; 0 = only when a connection fails
   */
  public record Inference(
      @DefaultValue("localhost:8001") @NotBlank String target,
      @DefaultValue("30s") @NotNull Duration callTimeout,
      @DefaultValue("64MB") @NotNull DataSize maxMessageSize,
      @DefaultValue("30s") @NotNull Duration keepAlive,
      @DefaultValue("3") @Min(1) @Max(5) int maxAttempts,
      @DefaultValue("true") boolean verifyOnStartup,
      @DefaultValue("ferret_llm") @NotBlank String model,
      @NotNull @Pattern(regexp = "pick_first|round_robin") @DefaultValue("pick_first")
          String loadBalancing,
      @NotNull @DefaultValue("0s") Duration reResolveInterval) {

    /** The channel's load balancing settings. */
    public TritonChannels.Balancing balancing() {
      return new TritonChannels.Balancing(loadBalancing, reResolveInterval);
    }
  }

  /**
   * Generation settings.
   *
   * @param groupId consumer group of the fused-context listener
   * @param concurrency listener threads, i.e. generations in flight per instance
   * @param coalesceTokens pieces per text delta (a delta is also sent when a box completes)
   * @param coalesceTime longest a piece waits for its delta, checked as pieces arrive (0 = count
   *     pieces only)
   * @param defaultMaxTokens {@code max_tokens} when the request leaves it at 0
   * @param maxGenerationTime longest generation (bounds requests without a deadline too)
   * @param retries retries of a generation that failed transiently before any event was sent
   * @param retryBackoff first retry delay (doubles per retry, capped at ten times this)
   * @param sendTimeout how long to wait for the broker to acknowledge the answer events
   * @param cancelledMemory how many cancelled request ids to remember (their late work is skipped)
   * @param cancelledTtl how long to remember a cancelled request id
   * @param template the conversation template
   */
  public record Llm(
      @DefaultValue("llm") @NotBlank String groupId,
      @DefaultValue("4") @Min(1) int concurrency,
      @DefaultValue("4") @Min(1) int coalesceTokens,
      @DefaultValue("0ms") @NotNull Duration coalesceTime,
      @DefaultValue("512") @Min(1) int defaultMaxTokens,
      @DefaultValue("5m") @NotNull Duration maxGenerationTime,
      @DefaultValue("2") @Min(0) int retries,
      @DefaultValue("500ms") @NotNull Duration retryBackoff,
      @DefaultValue("10s") @NotNull Duration sendTimeout,
      @DefaultValue("10000") @Min(1) int cancelledMemory,
      @DefaultValue("10m") @NotNull Duration cancelledTtl,
      @Valid @DefaultValue Template template) {}

  /**
   * The conversation template ({@code ferret.llm.template.*}); the defaults are Ferret's {@code
   * ferret_v1}.
   *
   * @param system the system text
   * @param systemSeparator what follows the system text
   * @param userRole the user's role name
   * @param assistantRole the assistant's role name
   * @param separator what follows a user message
   * @param turnEnd what follows an assistant message
   * @param imageToken what precedes the first user message
   * @param groundingSuffix appended to the question when grounding is asked for
   * @param regionToken the placeholder of one region's embedding
   */
  public record Template(
      @DefaultValue(PromptTemplate.FERRET_V1_SYSTEM) String system,
      @DefaultValue("  ") String systemSeparator,
      @DefaultValue("USER") String userRole,
      @DefaultValue("ASSISTANT") String assistantRole,
      @DefaultValue(" ") String separator,
      @DefaultValue("</s>") String turnEnd,
      @DefaultValue("<image>\n") String imageToken,
      @DefaultValue(" Include the coordinates for each mentioned object.") String groundingSuffix,
      @DefaultValue("<region_fea>") @NotBlank String regionToken) {

    public PromptTemplate toDomain() {
      return new PromptTemplate(
          system,
          systemSeparator,
          userRole,
          assistantRole,
          separator,
          turnEnd,
          imageToken,
          groundingSuffix,
          regionToken);
    }
  }
}

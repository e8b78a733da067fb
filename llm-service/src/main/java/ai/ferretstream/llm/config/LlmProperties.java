package ai.ferretstream.llm.config;

import ai.ferretstream.llm.domain.PromptTemplate;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of llm-service ({@code ferret.*}).
 *
 * <p>The settings every service shares ({@code ferret.kafka.*}: send timeout and retries, {@code
 * ferret.topics.*}, {@code ferret.inference.*}: the Triton connection) are the starter's.
 *
 * @param llm generation, streaming and listener settings of this service
 */
@ConfigurationProperties("ferret")
@Validated
public record LlmProperties(@Valid @DefaultValue Llm llm) {

  /**
   * Generation settings.
   *
   * @param groupId consumer group of the fused-context listener
   * @param concurrency consumer threads of the fused-context listener (generations run on their own
   *     threads, see {@code maxGenerations})
   * @param maxGenerations generations running at once on this instance, whatever the partition
   *     count; the consumer pauses while they are all busy
   * @param drainTimeout how long a revoked partition's running generations may finish before its
   *     offsets are committed (and how long stopping waits for them)
   * @param featureReaders Kafka consumers that read back the feature records a fused context names
   *     (reads at once)
   * @param featureReadTimeout longest reading back one request's feature records may take
   * @param featureReadFetchSize the readers' {@code max.partition.fetch.bytes}: 1 byte reads one
   *     record batch per round trip to the broker, more reads adjacent records at once
   * @param coalesceTokens pieces per text delta (a delta is also sent when a box completes)
   * @param coalesceTime longest a piece waits for its delta, checked as pieces arrive (0 = count
   *     pieces only)
   * @param defaultMaxTokens {@code max_tokens} when the request leaves it at 0 (less when the
   *     context has less room left)
   * @param maxContextTokens the model's context length: a request whose prompt tokens (image tokens
   *     + regions + words of the rendered conversation) plus its {@code max_tokens} exceed it is
   *     refused with {@code context_length_exceeded}, never trimmed (docs/conversations.md).
   *     Ferret-v2's is not published; 8192 holds the largest grid's 4032 image tokens and a
   *     conversation. Set it to the deployed checkpoint's {@code max_position_embeddings}
   * @param maxGenerationTime longest generation (bounds requests without a deadline too)
   * @param cancelledMemory how many cancelled request ids to remember (their late work is skipped)
   * @param cancelledTtl how long to remember a cancelled request id
   * @param template the conversation template
   * @param model the LLM model on the inference server (decoupled, streamed)
   */
  public record Llm(
      @DefaultValue("llm") @NotBlank String groupId,
      @DefaultValue("1") @Min(1) int concurrency,
      @DefaultValue("64") @Min(1) int maxGenerations,
      @DefaultValue("30s") @NotNull Duration drainTimeout,
      @DefaultValue("4") @Min(1) int featureReaders,
      @DefaultValue("10s") @NotNull Duration featureReadTimeout,
      @DefaultValue("1B") @NotNull org.springframework.util.unit.DataSize featureReadFetchSize,
      @DefaultValue("4") @Min(1) int coalesceTokens,
      @DefaultValue("0ms") @NotNull Duration coalesceTime,
      @DefaultValue("512") @Min(1) int defaultMaxTokens,
      @DefaultValue("8192") @Min(1) int maxContextTokens,
      @DefaultValue("5m") @NotNull Duration maxGenerationTime,
      @DefaultValue("10000") @Min(1) int cancelledMemory,
      @DefaultValue("10m") @NotNull Duration cancelledTtl,
      @Valid @DefaultValue Template template,
      @DefaultValue("ferret_llm") @NotBlank String model) {}

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

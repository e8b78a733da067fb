package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.failure.PermanentFailure;

/**
 * The model's context: what one request may put into it. A request needs its prompt tokens ({@link
 * UsageEstimate}: image tokens + regions + words of the rendered conversation) plus the {@code
 * max_tokens} it asked for, as vLLM counts them; a request that leaves {@code max_tokens} at 0
 * needs room for its prompt and at least one generated token, and generates at most what is left. A
 * conversation that does not fit is refused with {@code context_length_exceeded}, never trimmed
 * (docs/conversations.md).
 *
 * @param maxTokens the model's context length in tokens
 */
public record ContextWindow(int maxTokens) {

  /** Error code of a request whose conversation does not fit. */
  public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";

  public ContextWindow {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("the context must hold at least one token");
    }
  }

  /**
   * Checks that a request fits.
   *
   * @param imageTokens the image tokens of the prompt
   * @param regions the region embeddings of the prompt (every turn's)
   * @param prompt the rendered conversation
   * @param requestedMaxTokens the request's {@code max_tokens}; 0 = not set
   * @return the most tokens the request may generate within the context: {@code requestedMaxTokens}
   *     when set, else what the context has left
   * @throws PermanentFailure {@code context_length_exceeded} naming the counts
   */
  public int check(int imageTokens, int regions, String prompt, int requestedMaxTokens) {
    int text = UsageEstimate.words(prompt);
    long needed = (long) imageTokens + regions + text;
    long total = needed + Math.max(requestedMaxTokens, 1);
    if (total > maxTokens) {
      throw new PermanentFailure(
          CONTEXT_LENGTH_EXCEEDED,
          "the conversation needs "
              + needed
              + " tokens ("
              + imageTokens
              + " image tokens, "
              + regions
              + (regions == 1 ? " region, " : " regions, ")
              + text
              + " text)"
              + (requestedMaxTokens > 0 ? " plus max_tokens " + requestedMaxTokens : "")
              + " but the model's context is "
              + maxTokens
              + " tokens; shorten the history"
              + (requestedMaxTokens > 0 ? " or lower max_tokens" : ""));
    }
    return requestedMaxTokens > 0 ? requestedMaxTokens : (int) (maxTokens - needed);
  }
}

package ai.ferretstream.llm.domain;

import ai.ferretstream.proto.v1.Usage;

/**
 * Token usage as reported on {@code done}. The dev approximation, until the model reports its own
 * prompt token count: {@code prompt_tokens = image tokens + regions + whitespace-separated words of
 * the rendered prompt}, the regions and words of the whole conversation (every earlier turn's and
 * the question's); {@code completion_tokens} = streamed pieces (one piece per token). The same
 * count decides whether a request fits the model's context ({@link ContextWindow}).
 */
public final class UsageEstimate {

  private UsageEstimate() {}

  public static Usage of(int imageTokens, int regions, String prompt, int completionTokens) {
    return Usage.newBuilder()
        .setPromptTokens(imageTokens + regions + words(prompt))
        .setCompletionTokens(completionTokens)
        .setImageTokens(imageTokens)
        .build();
  }

  static int words(String text) {
    int n = 0;
    boolean inWord = false;
    for (int i = 0; i < text.length(); i++) {
      boolean space = Character.isWhitespace(text.charAt(i));
      if (!space && !inWord) {
        n++;
      }
      inWord = !space;
    }
    return n;
  }
}

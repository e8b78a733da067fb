package ai.ferretstream.llm.config;

/**
 * This instance of llm-service.
 *
 * @param id a random id, new at every start
 */
public record LlmInstance(String id) {

  /** The consumer group of this instance's control listener: every instance sees every cancel. */
  public String controlGroup() {
    return "llm-" + id;
  }
}

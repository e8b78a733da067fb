package ai.ferretstream.llm.domain;

/**
 * The pieces of the conversation template. The defaults render Ferret's {@code ferret_v1}
 * (SeparatorStyle.TWO): {@code system + " USER: <image>\n" + q1 + " ASSISTANT: " + a1 + "</s>" +
 * "USER: " + q2 + " ASSISTANT:"}.
 *
 * @param system the system text
 * @param systemSeparator what follows the system text (two spaces in ferret_v1)
 * @param userRole the user's role name
 * @param assistantRole the assistant's role name
 * @param separator what follows a user message
 * @param turnEnd what follows an assistant message
 * @param imageToken what precedes the first user message (the image placeholder)
 * @param groundingSuffix appended to the current question when grounding is asked for
 * @param regionToken the placeholder of one region's embedding
 */
public record PromptTemplate(
    String system,
    String systemSeparator,
    String userRole,
    String assistantRole,
    String separator,
    String turnEnd,
    String imageToken,
    String groundingSuffix,
    String regionToken) {

  public static final String FERRET_V1_SYSTEM =
      "A chat between a human and an AI that understands visuals. In images, [x, y] denotes"
          + " points: top-left [0, 0], bottom-right [width-1, height-1]. Increasing x moves right;"
          + " y moves down. Bounding box: [x1, y1, x2, y2]. Image size: 1000x1000. Follow"
          + " instructions.";

  /** Ferret's {@code ferret_v1} template with the Ferret-v2 grounding suffix. */
  public static PromptTemplate ferretV1() {
    return new PromptTemplate(
        FERRET_V1_SYSTEM,
        "  ",
        "USER",
        "ASSISTANT",
        " ",
        "</s>",
        "<image>\n",
        " Include the coordinates for each mentioned object.",
        "<region_fea>");
  }
}

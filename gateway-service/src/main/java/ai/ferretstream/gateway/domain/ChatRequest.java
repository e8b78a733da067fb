package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.Turn;
import java.util.List;

/**
 * A validated chat completion request, ready to become an {@code AskRequest}.
 *
 * @param model the model name the client asked for (answered in every chunk)
 * @param prompt the last user message's text
 * @param history earlier user/assistant turns, oldest first
 * @param regions the regions the prompt refers to, in {@code <region_fea>} order
 * @param image the one image of the conversation
 * @param options generation settings
 * @param grounding whether the answer should carry boxes
 * @param stream whether the client wants server-sent events
 * @param includeUsage whether a streamed answer ends with a usage chunk
 */
public record ChatRequest(
    String model,
    String prompt,
    List<Turn> history,
    List<Region> regions,
    ImageData image,
    GenerationOptions options,
    boolean grounding,
    boolean stream,
    boolean includeUsage) {

  public ChatRequest {
    history = List.copyOf(history);
    regions = List.copyOf(regions);
  }
}

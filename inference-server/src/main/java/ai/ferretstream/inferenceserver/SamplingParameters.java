package ai.ferretstream.inferenceserver;

import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code sampling_parameters} JSON of a {@code ferret_llm} request, as Triton's vLLM backend
 * takes it: {@code {"max_tokens": int, "temperature": float, "top_p": float, "seed": int, "stop":
 * [strings]}}. Other keys are accepted and ignored.
 *
 * @param maxTokens most pieces to generate ({@link Integer#MAX_VALUE} when not given)
 * @param temperature sampling temperature (the dev model is deterministic and ignores it)
 * @param topP nucleus probability mass (ignored by the dev model)
 * @param seed sampling seed (ignored by the dev model)
 * @param stop generation ends before the first occurrence of any of these strings
 */
record SamplingParameters(
    int maxTokens, double temperature, double topP, long seed, List<String> stop) {

  static final SamplingParameters DEFAULTS =
      new SamplingParameters(Integer.MAX_VALUE, 1.0, 1.0, 0, List.of());

  private static final JsonMapper JSON = JsonMapper.builder().build();

  SamplingParameters {
    stop = List.copyOf(stop);
  }

  /**
   * Parses and validates the JSON.
   *
   * @throws InferenceException (INVALID_ARGUMENT) naming the offending key
   */
  static SamplingParameters parse(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JacksonException e) {
      throw InferenceException.invalid(
          "sampling_parameters is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw InferenceException.invalid("sampling_parameters must be a JSON object, got: " + json);
    }
    int maxTokens = DEFAULTS.maxTokens;
    JsonNode node = root.get("max_tokens");
    if (node != null && !node.isNull()) {
      if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 1) {
        throw InferenceException.invalid(
            "sampling_parameters.max_tokens must be an integer >= 1, got " + node);
      }
      maxTokens = node.asInt();
    }
    double temperature = number(root, "temperature", DEFAULTS.temperature);
    if (temperature < 0) {
      throw InferenceException.invalid(
          "sampling_parameters.temperature must be >= 0, got " + temperature);
    }
    double topP = number(root, "top_p", DEFAULTS.topP);
    if (!(topP > 0 && topP <= 1)) {
      throw InferenceException.invalid("sampling_parameters.top_p must be in (0, 1], got " + topP);
    }
    long seed = DEFAULTS.seed;
    node = root.get("seed");
    if (node != null && !node.isNull()) {
      if (!node.isIntegralNumber() || !node.canConvertToLong()) {
        throw InferenceException.invalid(
            "sampling_parameters.seed must be an integer, got " + node);
      }
      seed = node.asLong();
    }
    List<String> stop = new ArrayList<>();
    node = root.get("stop");
    if (node != null && !node.isNull()) {
      if (node.isString()) {
        stop.add(node.asString());
      } else if (node.isArray()) {
        for (JsonNode s : node) {
          if (!s.isString()) {
            throw InferenceException.invalid(
                "sampling_parameters.stop must hold strings, got " + s);
          }
          stop.add(s.asString());
        }
      } else {
        throw InferenceException.invalid(
            "sampling_parameters.stop must be a string or a list of strings, got " + node);
      }
      if (stop.contains("")) {
        throw InferenceException.invalid("sampling_parameters.stop must not hold empty strings");
      }
    }
    return new SamplingParameters(maxTokens, temperature, topP, seed, stop);
  }

  private static double number(JsonNode root, String key, double fallback) {
    JsonNode node = root.get(key);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isNumber()) {
      throw InferenceException.invalid(
          "sampling_parameters." + key + " must be a number, got " + node);
    }
    double v = node.asDouble();
    if (!Double.isFinite(v)) {
      throw InferenceException.invalid("sampling_parameters." + key + " must be finite");
    }
    return v;
  }
}

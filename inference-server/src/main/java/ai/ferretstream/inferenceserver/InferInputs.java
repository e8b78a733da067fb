package ai.ferretstream.inferenceserver;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;

/**
 * The validated input tensors of one request.
 *
 * @param tensors by input name, in request order
 * @param batchSize dimension 0 of every input for a batching model, 1 otherwise
 */
record InferInputs(Map<String, Tensor> tensors, int batchSize) {

  InferInputs {
    tensors = Collections.unmodifiableMap(tensors);
  }

  /** A required input (validation guarantees its presence). */
  Tensor get(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw InferenceException.invalid("missing input '" + name + "'");
    }
    return t;
  }

  Optional<Tensor> optional(String name) {
    return Optional.ofNullable(tensors.get(name));
  }
}

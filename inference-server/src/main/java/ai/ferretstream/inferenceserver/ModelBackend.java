package ai.ferretstream.inferenceserver;

import java.util.List;

/** A loaded model version that executes requests. Implementations are thread-safe. */
interface ModelBackend extends AutoCloseable {

  /**
   * Executes one validated request. A non-decoupled model calls {@link ResponseSink#send} exactly
   * once with {@code last = true}; a decoupled model sends 0..N responses, marks the last one, and
   * stops early when {@link ResponseSink#cancelled()} turns true.
   *
   * @param outputs names of the outputs to produce, in response order
   * @throws InferenceException for input the model rejects
   */
  void execute(InferInputs inputs, List<String> outputs, ResponseSink sink);

  @Override
  void close();

  /** Where a model's responses go. */
  interface ResponseSink {

    /**
     * Sends one response.
     *
     * @param last whether this is the request's final response
     */
    void send(List<Tensor> outputs, boolean last);

    /** Whether the client has gone (stream cancelled); a decoupled model then stops. */
    boolean cancelled();
  }
}

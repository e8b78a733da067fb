package ai.ferretstream.llm.inference;

/** Receives one generation's stream. Called on gRPC threads, one call at a time. */
public interface TokenSink {

  /** One generated piece of text. */
  void onPiece(String text);

  /** The model's last response for the request ({@code triton_final_response}). */
  void onFinal();

  /** The server reported an error for the request ({@code error_message}). */
  void onModelError(String message);

  /**
   * The call failed.
   *
   * @param failure the classified failure ({@code TransientFailure} or {@code PermanentFailure})
   * @param kind why, where it matters to the caller
   */
  void onFailure(RuntimeException failure, FailureKind kind);

  /** Why a call failed. */
  enum FailureKind {
    /** The call's deadline passed. */
    DEADLINE_EXCEEDED,
    /** The call was cancelled (by us). */
    CANCELLED,
    /** Anything else. */
    OTHER
  }
}

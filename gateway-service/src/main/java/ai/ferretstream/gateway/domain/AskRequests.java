package ai.ferretstream.gateway.domain;

import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.UnsafeByteOperations;
import java.time.Duration;
import java.util.UUID;

/** Builds the {@code AskRequest} that starts a request's trip through the pipeline. */
public final class AskRequests {

  /** Prefix of request ids, as OpenAI names chat completions. */
  public static final String ID_PREFIX = "chatcmpl-";

  /** The {@code RequestContext.timings} key of the moment the gateway accepted the request. */
  public static final String ACCEPTED = "gateway.accepted";

  private AskRequests() {}

  /** A fresh request id: {@code chatcmpl-<random UUID>}. */
  public static String newId() {
    return ID_PREFIX + UUID.randomUUID();
  }

  /**
   * @param request the validated request
   * @param requestId its id
   * @param nowMillis the acceptance time (unix ms)
   * @param timeout how long the pipeline may take; sets the absolute deadline
   * @param replyTo where the answer events must go
   */
  public static AskRequest build(
      ChatRequest request, String requestId, long nowMillis, Duration timeout, ReplyTo replyTo) {
    RequestContext context =
        RequestContext.newBuilder()
            .setRequestId(requestId)
            .setDeadlineUnixMs(nowMillis + timeout.toMillis())
            .setCreatedUnixMs(nowMillis)
            .setReplyTo(replyTo)
            .setPrompt(request.prompt())
            .addAllHistory(request.history())
            .addAllRegions(request.regions())
            .setOptions(request.options())
            .setGrounding(request.grounding())
            .setModel(request.model())
            .putTimings(ACCEPTED, nowMillis)
            .build();
    return AskRequest.newBuilder()
        .setContext(context)
        .setImage(
            UnsafeByteOperations.unsafeWrap(request.image().bytes())) // the array is ours alone
        .setImageMediaType(request.image().mediaType())
        .build();
  }
}

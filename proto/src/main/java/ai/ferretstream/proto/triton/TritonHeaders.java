package ai.ferretstream.proto.triton;

import io.grpc.Metadata;

/**
 * The gRPC metadata our clients send with every inference call: the request id, so that a Triton
 * log line (Triton forwards headers matching its {@code --grpc-header-forward-pattern}) or a test
 * fake can tell which request a call belongs to.
 */
public final class TritonHeaders {

  /** Metadata header carrying the request id. */
  public static final Metadata.Key<String> REQUEST_ID =
      Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

  private TritonHeaders() {}

  /** Metadata carrying the request id, for {@code MetadataUtils.newAttachHeadersInterceptor}. */
  public static Metadata requestIdHeaders(String requestId) {
    Metadata headers = new Metadata();
    headers.put(REQUEST_ID, requestId);
    return headers;
  }
}

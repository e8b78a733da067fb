package ai.ferretstream.gateway.fetch;

/**
 * An http(s) image URL could not be fetched for a reason on the far side: the server answered with
 * an error, could not be reached, or did not answer within the fetch timeout. The web layer answers
 * it as {@code image_fetch_failed}: 504 when {@link #timedOut()}, 502 otherwise. (Refusals of the
 * URL itself, such as a forbidden address, are {@link RequestRejected}.)
 */
public final class ImageFetchFailed extends RuntimeException {

  private final String param;
  private final boolean timedOut;

  /**
   * @param param the request field that holds the URL
   * @param message what went wrong, for the client
   * @param timedOut whether the fetch ran out of time
   */
  public ImageFetchFailed(String param, String message, boolean timedOut) {
    super(message, null, false, false);
    this.param = param;
    this.timedOut = timedOut;
  }

  public String param() {
    return param;
  }

  public boolean timedOut() {
    return timedOut;
  }
}

package ai.ferretstream.gateway.fetch;

import ai.ferretstream.gateway.domain.ImageData;
import ai.ferretstream.gateway.domain.RequestRejected;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Flow;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * Fetches an {@code http://} or {@code https://} image URL for a request, guarded against
 * server-side request forgery.
 *
 * <ol>
 *   <li>Only http and https URLs without credentials are fetched.
 *   <li>The host is resolved <b>once</b> ({@link Resolver}); every address it resolves to must pass
 *       the {@link AddressPolicy} (or the host is allow-listed) before anything connects.
 *   <li>The connection goes to exactly those addresses: {@code java.net.http.HttpClient} is given a
 *       {@link PinnedRelay} on loopback as its proxy, so it never resolves the name itself, and the
 *       relay connects to the checked addresses. A DNS answer that changes between the check and
 *       the connection (DNS rebinding) cannot redirect the fetch. For https the TLS session still
 *       runs end to end with the URL's host name (SNI, certificate check, {@code Host} header).
 *   <li>Redirects are followed by hand, at most {@link Settings#maxRedirects()}; each hop is
 *       parsed, resolved and checked again.
 *   <li>The whole fetch (resolution, every hop, the body) ends at {@link Settings#timeout()}.
 *   <li>The body is refused as soon as it passes {@link Settings#maxBytes()}, or at once when its
 *       {@code Content-Length} says so; it is never read further.
 * </ol>
 *
 * <p>Errors: {@link RequestRejected} {@code invalid_image_url} (400: a malformed or forbidden URL,
 * an unresolvable host), {@code image_too_large} (413), {@code invalid_image} (400: not an image,
 * empty); {@link ImageFetchFailed} (timeouts, unreachable servers, HTTP errors, too many
 * redirects).
 */
public final class ImageFetcher implements AutoCloseable {

  /** Resolves a host name to all its addresses. */
  @FunctionalInterface
  public interface Resolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;
  }

  /** The JVM's resolver ({@link InetAddress#getAllByName}). */
  public static final Resolver SYSTEM_RESOLVER = host -> List.of(InetAddress.getAllByName(host));

  /**
   * @param timeout the longest a whole fetch may take, redirects and body included
   * @param maxRedirects the most redirects followed
   * @param maxBytes the largest image accepted
   * @param policy the addresses that may be fetched from
   */
  public record Settings(Duration timeout, int maxRedirects, long maxBytes, AddressPolicy policy) {}

  private static final String USER_AGENT = "ferret-stream-gateway (image fetch)";

  private final Settings settings;
  private final Resolver resolver;
  private final SSLContext sslContext;

  /** Runs the fetches' connections and relays; ends with {@link #close}. */
  private final ExecutorService executor = newExecutor();

  public ImageFetcher(Settings settings) {
    this(settings, SYSTEM_RESOLVER, null);
  }

  /**
   * @param resolver how host names are resolved (tests substitute their own)
   * @param sslContext the TLS context for https, or null for the JVM's default
   */
  public ImageFetcher(Settings settings, Resolver resolver, SSLContext sslContext) {
    this.settings = settings;
    this.resolver = resolver;
    this.sslContext = sslContext;
  }

  /** Whether the URL is an http(s) URL this class fetches (rather than a data: URL). */
  public static boolean isRemote(String url) {
    String lower = url.length() > 8 ? url.substring(0, 8).toLowerCase(Locale.ROOT) : url;
    return lower.startsWith("http://") || lower.startsWith("https://");
  }

  /**
   * Fetches the image.
   *
   * @param url the {@code image_url.url} value, an http(s) URL
   * @param param the request field, for errors
   * @return the image and its media type (from {@code Content-Type}, or recognised from the bytes)
   * @throws RequestRejected for a bad or forbidden URL, an image too large, or a body that is not
   *     an image
   * @throws ImageFetchFailed when the server cannot be reached, answers with an error, redirects
   *     too often, or the fetch runs out of time
   */
  public ImageData fetch(String url, String param) {
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    URI uri = parse(url, param, "the image URL");
    for (int redirects = 0; ; redirects++) {
      Target target = target(uri, param, redirects == 0 ? null : uri.toString());
      List<InetAddress> addresses = resolve(target.host, deadline, param);
      settings.policy().check(target.host, addresses, param);
      Hop hop = exchange(uri, target, addresses, deadline, param);
      if (hop.image != null) {
        return hop.image;
      }
      if (redirects >= settings.maxRedirects()) {
        throw new ImageFetchFailed(
            param,
            "the image URL redirected more than "
                + settings.maxRedirects()
                + " times (last to "
                + hop.location
                + ")",
            false);
      }
      uri = hop.location;
    }
  }

  private record Target(String host, int port) {}

  /** Either the image, or where the server redirected to. */
  private record Hop(ImageData image, URI location) {}

  private static URI parse(String text, String param, String what) {
    int hash = text.indexOf('#');
    String withoutFragment = hash < 0 ? text : text.substring(0, hash);
    try {
      return new URI(withoutFragment);
    } catch (URISyntaxException e) {
      throw invalidUrl(param, what + " is not a valid URL (" + e.getReason() + ")");
    }
  }

  /** Checks what can be checked without a lookup. */
  private static Target target(URI uri, String param, String redirectedTo) {
    String where = redirectedTo == null ? "the image URL" : "the redirect to " + redirectedTo;
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw invalidUrl(param, where + " is not an http or https URL");
    }
    if (uri.getRawUserInfo() != null) {
      throw invalidUrl(param, where + " carries credentials, which are not accepted");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw invalidUrl(param, where + " has no valid host name");
    }
    int port = uri.getPort() < 0 ? (scheme.equals("https") ? 443 : 80) : uri.getPort();
    if (port == 0) {
      throw invalidUrl(param, where + " has port 0");
    }
    return new Target(AddressPolicy.normalizeHost(host), port);
  }

  /** All addresses of the host, resolved once, within the deadline. */
  private List<InetAddress> resolve(String host, long deadline, String param) {
    byte[] literal = IpLiterals.parse(host);
    if (literal != null) {
      try {
        return List.of(InetAddress.getByAddress(host, literal));
      } catch (UnknownHostException e) {
        throw invalidUrl(param, "the image URL's host '" + host + "' is not a valid address");
      }
    }
    CompletableFuture<List<InetAddress>> lookup =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return resolver.resolve(host);
              } catch (UnknownHostException e) {
                throw new CompletionException(e);
              }
            },
            executor);
    List<InetAddress> addresses;
    try {
      addresses = lookup.get(remaining(deadline, param), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      lookup.cancel(true);
      throw timedOut(param, "resolving the host '" + host + "'");
    } catch (ExecutionException e) {
      throw invalidUrl(param, "the image URL's host '" + host + "' could not be resolved");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageFetchFailed(param, "the image fetch was interrupted", false);
    }
    if (addresses == null || addresses.isEmpty()) {
      throw invalidUrl(param, "the image URL's host '" + host + "' could not be resolved");
    }
    return addresses;
  }

  /** One request to one checked target, through a relay pinned to its addresses. */
  private Hop exchange(
      URI uri, Target target, List<InetAddress> addresses, long deadline, String param) {
    PinnedRelay relay;
    try {
      relay = PinnedRelay.open(target.host, target.port, addresses, deadline, executor);
    } catch (IOException e) {
      throw new ImageFetchFailed(param, "the gateway could not open a connection: " + e, false);
    }
    CompletableFuture<HttpResponse<byte[]>> call = null;
    try (relay) {
      Duration left = Duration.ofNanos(remaining(deadline, param));
      HttpClient.Builder builder =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .followRedirects(HttpClient.Redirect.NEVER)
              .proxy(ProxySelector.of(relay.address()))
              .connectTimeout(left)
              .executor(executor);
      if (sslContext != null) {
        builder.sslContext(sslContext);
      }
      HttpRequest request =
          HttpRequest.newBuilder(uri)
              .GET()
              .timeout(left)
              .header("Accept", "image/*")
              .header("User-Agent", USER_AGENT)
              .build();
      call = builder.build().sendAsync(request, this::body);
      HttpResponse<byte[]> response;
      try {
        response = call.get(remaining(deadline, param), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        throw timedOut(param, "fetching " + uri);
      } catch (ExecutionException e) {
        throw failure(e.getCause(), relay, deadline, uri, param);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ImageFetchFailed(param, "the image fetch was interrupted", false);
      }
      if (relay.failure() != null) {
        throw new ImageFetchFailed(param, "fetching " + uri + " failed: " + relay.failure(), false);
      }
      return answer(uri, response, param);
    } finally {
      if (call != null && !call.isDone()) {
        call.cancel(true);
      }
    }
  }

  private Hop answer(URI uri, HttpResponse<byte[]> response, String param) {
    int status = response.statusCode();
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      String location = response.headers().firstValue("Location").orElse(null);
      if (location == null || location.isBlank()) {
        throw new ImageFetchFailed(
            param, uri + " answered HTTP " + status + " without a Location", false);
      }
      URI next = parse(location.trim(), param, "the redirect of " + uri + " to '" + location + "'");
      // URI.resolve joins a relative reference to an empty base path without a slash
      URI base = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? uri.resolve("/") : uri;
      return new Hop(null, base.resolve(next));
    }
    if (status < 200 || status >= 300) {
      throw new ImageFetchFailed(param, uri + " answered HTTP " + status, false);
    }
    byte[] bytes = response.body();
    if (bytes == null || bytes.length == 0) {
      throw new RequestRejected(
          RequestRejected.Reason.INVALID, "invalid_image", param, uri + " sent no image bytes");
    }
    String declared = mediaType(response.headers());
    String mediaType = declared != null && declared.startsWith("image/") ? declared : sniff(bytes);
    if (mediaType == null) {
      throw notAnImage(param, uri, declared);
    }
    return new Hop(new ImageData(bytes, mediaType), null);
  }

  /** Chooses how to read a response body: the image, bounded, or nothing at all. */
  private HttpResponse.BodySubscriber<byte[]> body(HttpResponse.ResponseInfo info) {
    int status = info.statusCode();
    if (status < 200 || status >= 300) {
      return new BoundedBody(-1, null);
    }
    String length = info.headers().firstValue("Content-Length").orElse(null);
    if (length != null) {
      try {
        long declared = Long.parseLong(length.trim());
        if (declared > settings.maxBytes()) {
          return new BoundedBody(0, new TooLarge(declared, true));
        }
      } catch (NumberFormatException e) {
        // the client's own framing decides; the count below still applies
      }
    }
    String type = mediaType(info.headers());
    if (type != null && !type.startsWith("image/") && !isOctetStream(type)) {
      return new BoundedBody(0, new NotAnImage(type));
    }
    return new BoundedBody(settings.maxBytes(), null);
  }

  private RuntimeException failure(
      Throwable cause, PinnedRelay relay, long deadline, URI uri, String param) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof TooLarge tooLarge) {
        return new RequestRejected(
            RequestRejected.Reason.TOO_LARGE,
            "image_too_large",
            param,
            tooLarge.declared
                ? "the image at "
                    + uri
                    + " is "
                    + tooLarge.size
                    + " bytes (Content-Length); at most "
                    + settings.maxBytes()
                    + " bytes are accepted"
                : "the image at "
                    + uri
                    + " is larger than "
                    + settings.maxBytes()
                    + " bytes, the most accepted; the download was stopped there");
      }
      if (t instanceof NotAnImage notAnImage) {
        return notAnImage(param, uri, notAnImage.type);
      }
    }
    if (System.nanoTime() - deadline >= 0 || hasCause(cause, HttpTimeoutException.class)) {
      return timedOut(param, "fetching " + uri);
    }
    if (relay.failure() != null) {
      return new ImageFetchFailed(param, "fetching " + uri + " failed: " + relay.failure(), false);
    }
    return new ImageFetchFailed(param, "fetching " + uri + " failed: " + describe(cause), false);
  }

  private long remaining(long deadline, String param) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw timedOut(param, "fetching the image");
    }
    return left;
  }

  private ImageFetchFailed timedOut(String param, String what) {
    return new ImageFetchFailed(
        param,
        what + " did not finish within the image fetch timeout of " + format(settings.timeout()),
        true);
  }

  private static String format(Duration duration) {
    long millis = duration.toMillis();
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  private static RequestRejected invalidUrl(String param, String message) {
    return new RequestRejected(RequestRejected.Reason.INVALID, "invalid_image_url", param, message);
  }

  private static RequestRejected notAnImage(String param, URI uri, String type) {
    return new RequestRejected(
        RequestRejected.Reason.INVALID,
        "invalid_image",
        param,
        uri
            + " is not an image"
            + (type == null ? "" : " (it was sent as '" + type + "')")
            + "; an image/* resource is required");
  }

  /** The media type of {@code Content-Type} without parameters, lower case; null when absent. */
  private static String mediaType(HttpHeaders headers) {
    String type = headers.firstValue("Content-Type").orElse(null);
    if (type == null) {
      return null;
    }
    int semicolon = type.indexOf(';');
    String bare = (semicolon < 0 ? type : type.substring(0, semicolon)).trim();
    return bare.isEmpty() ? null : bare.toLowerCase(Locale.ROOT);
  }

  private static boolean isOctetStream(String type) {
    return type.equals("application/octet-stream") || type.equals("binary/octet-stream");
  }

  /** The media type of common image formats recognised by their magic bytes; null otherwise. */
  static String sniff(byte[] b) {
    if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a)) {
      return "image/png";
    }
    if (startsWith(b, 0xff, 0xd8, 0xff)) {
      return "image/jpeg";
    }
    if (startsWith(b, 'G', 'I', 'F', '8')) {
      return "image/gif";
    }
    if (b.length >= 12
        && startsWith(b, 'R', 'I', 'F', 'F')
        && b[8] == 'W'
        && b[9] == 'E'
        && b[10] == 'B'
        && b[11] == 'P') {
      return "image/webp";
    }
    if (startsWith(b, 'B', 'M')) {
      return "image/bmp";
    }
    return null;
  }

  private static boolean startsWith(byte[] bytes, int... prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if ((bytes[i] & 0xff) != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable cause) {
    Throwable t = cause;
    while ((t instanceof CompletionException || t.getMessage() == null) && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.toString();
  }

  /** Stops the fetcher's threads; fetches in flight fail. */
  @Override
  public void close() {
    executor.shutdownNow();
  }

  private static ExecutorService newExecutor() {
    AtomicInteger threads = new AtomicInteger();
    return new ThreadPoolExecutor(
        0,
        Integer.MAX_VALUE,
        30,
        TimeUnit.SECONDS,
        new SynchronousQueue<>(),
        task -> {
          Thread thread = new Thread(task, "image-fetch-" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
  }

  /** The body over the limit: {@code declared} when {@code Content-Length} already said so. */
  private static final class TooLarge extends IOException {
    final long size;
    final boolean declared;

    TooLarge(long size, boolean declared) {
      super("the image is larger than allowed", null);
      this.size = size;
      this.declared = declared;
    }
  }

  private static final class NotAnImage extends IOException {
    final String type;

    NotAnImage(String type) {
      super("not an image: " + type, null);
      this.type = type;
    }
  }

  /**
   * Collects a body up to {@code maxBytes} and cancels the download the moment it passes them. A
   * negative {@code maxBytes} discards the body at once; a {@code refusal} fails before reading.
   */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {

    private final long maxBytes;
    private final IOException refusal;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Flow.Subscription subscription;
    private long received;

    BoundedBody(long maxBytes, IOException refusal) {
      this.maxBytes = maxBytes;
      this.refusal = refusal;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      if (refusal != null) {
        subscription.cancel();
        result.completeExceptionally(refusal);
      } else if (maxBytes < 0) {
        subscription.cancel();
        result.complete(new byte[0]);
      } else {
        subscription.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        received += buffer.remaining();
        if (received > maxBytes) {
          subscription.cancel();
          result.completeExceptionally(new TooLarge(received, false));
          return;
        }
        byte[] chunk = new byte[buffer.remaining()];
        buffer.get(chunk);
        bytes.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable throwable) {
      result.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      result.complete(bytes.toByteArray());
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }
  }
}

package ai.ferretstream.gateway.web;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads request bodies of the API without holding a request thread (Servlet non-blocking I/O): the
 * request goes async, the container calls back as bytes arrive, and once the whole body is in
 * memory the request is dispatched again, with the body, to the endpoints. A client that sends its
 * headers and then stalls holds a connection, never a thread, and only until {@code
 * body-read-timeout}: then it gets 408 in the OpenAI error shape and the connection is closed. A
 * body beyond {@code limits.max-body-size} gets 413 as soon as it is known to be too large.
 *
 * <p>Every endpoint below {@code /v1/} therefore sees a complete body, including multipart uploads,
 * which the endpoint parses from those bytes (Spring's multipart resolver, which would read the
 * body blocking, is turned off).
 */
final class RequestBodyFilter implements Filter {

  /** The request attribute holding the body between the read and the second dispatch. */
  static final String BODY = RequestBodyFilter.class.getName() + ".body";

  private static final int CHUNK = 16 * 1024;

  private final long maxBodyBytes;
  private final Duration timeout;
  private final ClientAborts aborts;
  private final JsonMapper json;

  RequestBodyFilter(long maxBodyBytes, Duration timeout, ClientAborts aborts, JsonMapper json) {
    this.maxBodyBytes = maxBodyBytes;
    this.timeout = timeout;
    this.aborts = aborts;
    this.json = json;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest request = (HttpServletRequest) req;
    HttpServletResponse response = (HttpServletResponse) res;
    if (request.getAttribute(BODY) instanceof byte[] body) {
      // the second dispatch: the body has arrived
      request.removeAttribute(BODY);
      chain.doFilter(new BufferedBodyRequest(request, body), response);
      return;
    }
    long declared = request.getContentLengthLong();
    boolean hasBody = declared > 0 || request.getHeader("Transfer-Encoding") != null;
    if (request.getDispatcherType() != DispatcherType.REQUEST || !hasBody) {
      chain.doFilter(request, response);
      return;
    }
    if (declared > maxBodyBytes) {
      respond(response, 413, "request_too_large", tooLarge());
      return;
    }
    AsyncContext async = request.startAsync(request, response);
    async.setTimeout(timeout.toMillis());
    ServletInputStream in = request.getInputStream();
    BodyRead read = new BodyRead(async, request, response, in, declared);
    async.addListener(read);
    in.setReadListener(read);
  }

  private String tooLarge() {
    return "the request body is larger than " + maxBodyBytes + " bytes";
  }

  private String timedOut() {
    return "the request body did not arrive within "
        + timeout.toSeconds()
        + "s (ferret.gateway.body-read-timeout); send the whole body at once";
  }

  /** An error body in the OpenAI shape; the connection is closed after it. */
  private void respond(HttpServletResponse response, int status, String code, String message)
      throws IOException {
    if (response.isCommitted()) {
      return;
    }
    byte[] body = json.writeValueAsBytes(ChunkFormat.errorBody(json, status, code, null, message));
    response.setStatus(status);
    response.setHeader("Connection", "close");
    response.setContentType("application/json");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
    response.flushBuffer();
  }

  /** One body being read: gathers the bytes, ends in exactly one outcome. */
  private final class BodyRead implements ReadListener, AsyncListener {

    private final AsyncContext async;
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final ServletInputStream in;
    private final BodyBuffer bytes;
    private final byte[] chunk = new byte[CHUNK];
    private final AtomicBoolean ended = new AtomicBoolean();

    BodyRead(
        AsyncContext async,
        HttpServletRequest request,
        HttpServletResponse response,
        ServletInputStream in,
        long declared) {
      this.async = async;
      this.request = request;
      this.response = response;
      this.in = in;
      this.bytes = new BodyBuffer(declared);
    }

    @Override
    public void onDataAvailable() {
      try {
        while (!ended.get() && in.isReady()) {
          int n = in.read(chunk);
          if (n < 0) {
            return; // onAllDataRead follows
          }
          if (bytes.size() + (long) n > maxBodyBytes) {
            fail(413, "request_too_large", tooLarge());
            return;
          }
          bytes.write(chunk, 0, n);
        }
      } catch (IOException e) {
        failed(e);
      }
    }

    @Override
    public void onAllDataRead() {
      if (ended.compareAndSet(false, true)) {
        request.setAttribute(BODY, bytes.take());
        async.dispatch();
      }
    }

    @Override
    public void onError(Throwable t) {
      failed(t);
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      if (!ended.get()) {
        aborts.timedOut(
            ClientAborts.Phase.READ,
            request.getRequestURI() + ": " + bytes.size() + " body bytes in " + timeout);
        fail(408, "request_timeout", timedOut());
      }
    }

    @Override
    public void onError(AsyncEvent event) {
      failed(event.getThrowable());
    }

    @Override
    public void onComplete(AsyncEvent event) {}

    @Override
    public void onStartAsync(AsyncEvent event) {}

    private void failed(Throwable t) {
      if (ended.get()) {
        return;
      }
      if (t instanceof SocketTimeoutException) {
        aborts.timedOut(ClientAborts.Phase.READ, request.getRequestURI() + ": " + t);
        fail(408, "request_timeout", timedOut());
      } else {
        aborts.closed(ClientAborts.Phase.READ, t);
        end();
      }
    }

    private void fail(int status, String code, String message) {
      if (ended.compareAndSet(false, true)) {
        try {
          respond(response, status, code, message);
        } catch (IOException | RuntimeException e) {
          aborts.closed(ClientAborts.Phase.WRITE, e);
        }
        complete();
      }
    }

    private void end() {
      if (ended.compareAndSet(false, true)) {
        complete();
      }
    }

    private void complete() {
      try {
        async.complete();
      } catch (IllegalStateException e) {
        // the container has ended the exchange already
      }
    }
  }

  /**
   * The bytes of one body as they arrive. It grows with what was sent (a declared length reserves
   * nothing up front), but never beyond a declared length, so that a body that arrives whole is
   * handed on in the array it was read into, not copied once more (image bodies are megabytes).
   */
  static final class BodyBuffer {

    private static final int FIRST = 4 * CHUNK;

    private final long declared;
    private byte[] buf;
    private int count;

    /**
     * @param declared the Content-Length, or -1 when the body is chunked
     */
    BodyBuffer(long declared) {
      this.declared = declared;
      this.buf = new byte[(int) (declared > 0 ? Math.min(declared, FIRST) : FIRST)];
    }

    void write(byte[] b, int off, int len) {
      int need = count + len;
      if (need > buf.length) {
        long grown = Math.max(2L * buf.length, need);
        if (declared >= need) {
          grown = Math.min(grown, declared);
        }
        buf = Arrays.copyOf(buf, (int) Math.min(grown, Integer.MAX_VALUE - 8));
      }
      System.arraycopy(b, off, buf, count, len);
      count = need;
    }

    int size() {
      return count;
    }

    /** The body: the buffer itself when it is exactly full (a body of its declared length). */
    byte[] take() {
      return count == buf.length ? buf : Arrays.copyOf(buf, count);
    }
  }

  /** The request as the endpoints see it: its body from memory. */
  static final class BufferedBodyRequest extends HttpServletRequestWrapper {

    private final byte[] body;

    BufferedBodyRequest(HttpServletRequest request, byte[] body) {
      super(request);
      this.body = body;
    }

    /** The whole body (the endpoints take it from here without copying). */
    byte[] body() {
      return body;
    }

    @Override
    public ServletInputStream getInputStream() {
      ByteArrayInputStream in = new ByteArrayInputStream(body);
      return new ServletInputStream() {
        @Override
        public int read() {
          return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
          return in.read(b, off, len);
        }

        @Override
        public boolean isFinished() {
          return in.available() == 0;
        }

        @Override
        public boolean isReady() {
          return true;
        }

        @Override
        public void setReadListener(ReadListener listener) {
          throw new IllegalStateException("the body has been read already");
        }
      };
    }

    @Override
    public BufferedReader getReader() {
      String encoding = getCharacterEncoding();
      Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
      return new BufferedReader(new InputStreamReader(getInputStream(), charset));
    }

    @Override
    public int getContentLength() {
      return body.length;
    }

    @Override
    public long getContentLengthLong() {
      return body.length;
    }
  }
}

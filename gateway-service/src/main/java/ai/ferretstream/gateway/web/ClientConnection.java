package ai.ferretstream.gateway.web;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open HTTP exchange of one request (Servlet async): written only from its {@link
 * OrderedWriter}, completed once. A failed write or a container error/timeout means the client is
 * gone; {@code onGone} then runs once. A client that went away is logged and counted once ({@link
 * ClientAborts}), never with a stack trace.
 */
final class ClientConnection {

  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

  private final HttpServletResponse response;
  private final Runnable onGone;
  private final ClientAborts aborts;
  private AsyncContext async;
  private volatile boolean closed;

  /**
   * @param onGone runs once when the client goes away before the answer ended
   * @param aborts where a client that went away is logged and counted
   */
  ClientConnection(HttpServletResponse response, Runnable onGone, ClientAborts aborts) {
    this.response = response;
    this.onGone = onGone;
    this.aborts = aborts;
  }

  /** Detaches the exchange from the servlet thread; the response stays open until complete. */
  void startAsync(HttpServletRequest request, Duration timeout) {
    async = request.startAsync();
    async.setTimeout(timeout.toMillis());
    async.addListener(
        new AsyncListener() {
          @Override
          public void onComplete(AsyncEvent event) {
            closed = true;
          }

          @Override
          public void onTimeout(AsyncEvent event) {
            log.warn("response of a request timed out in the servlet container; closing it");
            gone();
            complete();
          }

          @Override
          public void onError(AsyncEvent event) {
            if (!closed) {
              aborts.closed(ClientAborts.Phase.WRITE, event.getThrowable());
            }
            gone();
            complete();
          }

          @Override
          public void onStartAsync(AsyncEvent event) {}
        });
  }

  /** Writes and flushes; false (and {@code onGone}) when the client is gone. */
  boolean write(byte[] bytes) {
    if (closed) {
      return false;
    }
    try {
      var out = response.getOutputStream();
      out.write(bytes);
      out.flush();
      return true;
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        aborts.closed(ClientAborts.Phase.WRITE, e);
      }
      gone();
      complete();
      return false;
    }
  }

  /**
   * Answers with one JSON body and ends the exchange: status, content type and length ({@code
   * Retry-After: 1} with a 503), unless the client is gone already.
   */
  void respondJson(int status, byte[] body) {
    if (!closed) {
      response.setStatus(status);
      response.setContentType("application/json");
      response.setContentLength(body.length);
      if (status == 503) {
        response.setHeader("Retry-After", "1");
      }
    }
    write(body);
    complete();
  }

  /** Ends the exchange (idempotent). */
  void complete() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      async.complete();
    } catch (RuntimeException e) {
      log.debug("completing a response failed: {}", e.toString());
    }
  }

  boolean isClosed() {
    return closed;
  }

  private void gone() {
    if (!closed) {
      onGone.run();
    }
  }
}

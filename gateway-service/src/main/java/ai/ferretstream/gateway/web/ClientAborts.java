package ai.ferretstream.gateway.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;

/**
 * Clients that go away or are too slow: normal traffic at an HTTP edge, not a gateway failure. Each
 * is logged once, at DEBUG, in one line without a stack trace, and counted in {@value #METER},
 * tagged {@code phase} ({@code read}: while the request body arrived, {@code write}: while the
 * answer was written) and {@code reason} ({@code closed}: the connection broke, {@code timeout}:
 * the client was too slow and the gateway gave up on it).
 */
final class ClientAborts {

  /** The counter's name. */
  static final String METER = "ferret.gateway.client.aborts";

  private static final Logger log = LoggerFactory.getLogger(ClientAborts.class);

  /** When a request was aborted. */
  enum Phase {
    READ,
    WRITE
  }

  private final MeterRegistry meters;

  ClientAborts(MeterRegistry meters) {
    this.meters = meters;
  }

  /** The client's connection broke (reset, broken pipe, closed early). */
  void closed(Phase phase, Throwable cause) {
    count(phase, "closed");
    if (log.isDebugEnabled()) {
      log.debug(
          "client went away while {}: {}",
          phase == Phase.READ ? "sending its request" : "receiving its answer",
          describe(cause));
    }
  }

  /** The client was too slow; the gateway gave up on it. */
  void timedOut(Phase phase, String what) {
    count(phase, "timeout");
    log.debug("client too slow: {}", what);
  }

  private void count(Phase phase, String reason) {
    Counter.builder(METER)
        .description("clients that went away or were too slow, by phase and reason")
        .tag("phase", phase.name().toLowerCase(Locale.ROOT))
        .tag("reason", reason)
        .register(meters)
        .increment();
  }

  /**
   * Whether {@code e} (or a cause) says the client's connection is gone or too slow: Tomcat's
   * {@code ClientAbortException}, Spring's {@link AsyncRequestNotUsableException}, an early end of
   * the stream, a read timeout, a reset or a broken pipe.
   */
  static boolean isAbort(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof AsyncRequestNotUsableException
          || t instanceof EOFException
          || t instanceof SocketTimeoutException
          || t.getClass().getName().equals("org.apache.catalina.connector.ClientAbortException")) {
        return true;
      }
      if (t instanceof IOException && t.getMessage() != null) {
        String message = t.getMessage().toLowerCase(Locale.ROOT);
        if (message.contains("broken pipe")
            || message.contains("connection reset")
            || message.contains("connection aborted")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The innermost cause, in one line. */
  private static String describe(Throwable e) {
    if (e == null) {
      return "connection closed";
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e ? e.toString() : e.getClass().getSimpleName() + " (" + root + ")";
  }
}

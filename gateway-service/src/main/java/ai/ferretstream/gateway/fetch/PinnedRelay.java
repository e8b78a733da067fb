package ai.ferretstream.gateway.fetch;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A one-connection relay on loopback that {@code java.net.http.HttpClient} uses as its proxy, so
 * that the client connects to exactly the addresses the {@link AddressPolicy} judged: the client
 * never resolves the target's name itself (with a proxy it hands the name to the proxy), and the
 * relay connects to the pinned addresses, never to a name.
 *
 * <ul>
 *   <li>https: the client sends {@code CONNECT host:port}; the relay answers 200 and tunnels bytes.
 *       TLS runs end to end between the client and the server, with the URL's host name as SNI and
 *       for certificate verification, and the real {@code Host} header.
 *   <li>http: the client sends the request in absolute form ({@code GET http://host:port/path});
 *       the relay rewrites the request line to origin form ({@code GET /path}) and passes the rest
 *       through unchanged.
 * </ul>
 *
 * <p>The relay accepts one connection, only for the expected host and port; it gives up at the
 * deadline, and {@link #close()} ends everything it opened. A failure of its own (the target
 * refused the connection, a wrong authority) is kept in {@link #failure()}, since the client would
 * otherwise see only a generic proxy error.
 */
final class PinnedRelay implements AutoCloseable {

  private static final int MAX_HEAD_BYTES = 64 * 1024;

  private final ServerSocket server;
  private final String host;
  private final int port;
  private final List<InetAddress> addresses;
  private final long deadlineNanos;
  private final Executor executor;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private volatile String failure;
  private volatile boolean closed;

  private PinnedRelay(
      ServerSocket server,
      String host,
      int port,
      List<InetAddress> addresses,
      long deadlineNanos,
      Executor executor) {
    this.server = server;
    this.host = host;
    this.port = port;
    this.addresses = List.copyOf(addresses);
    this.deadlineNanos = deadlineNanos;
    this.executor = executor;
  }

  /**
   * Opens a relay on a free loopback port and starts serving its one connection.
   *
   * @param host the URL's host (the authority the client must ask for)
   * @param port the URL's port
   * @param addresses the checked addresses of the host, tried in order
   * @param deadlineNanos {@link System#nanoTime()} at which the relay gives up
   * @param executor runs the relay's two copying loops
   */
  static PinnedRelay open(
      String host, int port, List<InetAddress> addresses, long deadlineNanos, Executor executor)
      throws IOException {
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("no address to relay to");
    }
    ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    PinnedRelay relay = new PinnedRelay(server, host, port, addresses, deadlineNanos, executor);
    executor.execute(relay::serve);
    return relay;
  }

  /** Where the client reaches the relay (its proxy address). */
  InetSocketAddress address() {
    return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
  }

  /** What went wrong in the relay itself, or null. */
  String failure() {
    return failure;
  }

  private void serve() {
    try {
      server.setSoTimeout(remainingMillis());
      Socket client;
      try {
        client = server.accept();
      } finally {
        server.close();
      }
      track(client);
      client.setSoTimeout(remainingMillis());
      InputStream fromClient = new BufferedInputStream(client.getInputStream());
      String head = readHead(fromClient);
      int lineEnd = head.indexOf("\r\n");
      String[] requestLine = head.substring(0, lineEnd).split(" ");
      if (requestLine.length != 3) {
        refuse(client, "the client sent a malformed request line");
        return;
      }
      boolean tunnel = requestLine[0].equals("CONNECT");
      String rewritten = null;
      if (tunnel) {
        if (!authorityMatches(requestLine[1])) {
          refuse(client, "the client asked to tunnel to " + requestLine[1]);
          return;
        }
      } else {
        URI target;
        try {
          target = new URI(requestLine[1]);
        } catch (URISyntaxException e) {
          refuse(client, "the client sent a malformed request URI");
          return;
        }
        int targetPort = target.getPort() < 0 ? 80 : target.getPort();
        if (!"http".equalsIgnoreCase(target.getScheme())
            || target.getHost() == null
            || !sameHost(target.getHost())
            || targetPort != port) {
          refuse(client, "the client asked for " + requestLine[1]);
          return;
        }
        String rawPath = target.getRawPath();
        String origin =
            (rawPath == null || rawPath.isEmpty() ? "/" : rawPath)
                + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
        rewritten = requestLine[0] + " " + origin + " " + requestLine[2] + head.substring(lineEnd);
      }
      Socket upstream = connectUpstream();
      if (upstream == null) {
        respond(client, "502 Bad Gateway");
        close();
        return;
      }
      client.setSoTimeout(0);
      if (tunnel) {
        respond(client, "200 Connection Established");
      } else {
        upstream.getOutputStream().write(rewritten.getBytes(StandardCharsets.ISO_8859_1));
        upstream.getOutputStream().flush();
      }
      InputStream fromUpstream = upstream.getInputStream();
      executor.execute(() -> pump(fromUpstream, client));
      pump(fromClient, upstream);
    } catch (SocketTimeoutException e) {
      fail("the relay timed out waiting for the client");
      close();
    } catch (IOException | RuntimeException e) {
      fail("the relay failed: " + e);
      close();
    }
  }

  /** Connects to the first pinned address that answers; null (and a failure) when none does. */
  private Socket connectUpstream() {
    StringBuilder errors = new StringBuilder();
    for (InetAddress address : addresses) {
      if (pastDeadline() || closed) {
        break;
      }
      int timeout = remainingMillis();
      InetSocketAddress target = new InetSocketAddress(address, port);
      Socket socket = new Socket();
      track(socket);
      try {
        socket.connect(target, timeout);
        return socket;
      } catch (IOException e) {
        closeQuietly(socket);
        if (!errors.isEmpty()) {
          errors.append("; ");
        }
        errors.append(address.getHostAddress()).append(": ").append(e.getMessage());
      }
    }
    fail(
        "could not connect to "
            + host
            + " port "
            + port
            + (errors.isEmpty() ? " before the deadline" : " (" + errors + ")"));
    return null;
  }

  /** Copies until end of stream, then half-closes the destination; any error ends the relay. */
  private void pump(InputStream in, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        out.flush();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      close();
    }
  }

  private boolean authorityMatches(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon <= 0 || authority.endsWith("]")) {
      return false;
    }
    try {
      return Integer.parseInt(authority.substring(colon + 1)) == port
          && sameHost(authority.substring(0, colon));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private boolean sameHost(String other) {
    return AddressPolicy.normalizeHost(other).equals(AddressPolicy.normalizeHost(host));
  }

  private void refuse(Socket client, String why) throws IOException {
    fail(why + "; expected " + host + " port " + port);
    respond(client, "403 Forbidden");
    close();
  }

  private static void respond(Socket client, String status) throws IOException {
    OutputStream out = client.getOutputStream();
    String extra = status.startsWith("200") ? "" : "Content-Length: 0\r\nConnection: close\r\n";
    out.write(("HTTP/1.1 " + status + "\r\n" + extra + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /**
   * Reads up to and including the blank line that ends the request head, byte by byte from a
   * buffered stream, so that nothing after the head is consumed.
   */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream(512);
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the client closed the connection before sending a request");
      }
      head.write(b);
      if (head.size() > MAX_HEAD_BYTES) {
        throw new IOException("the request head is larger than " + MAX_HEAD_BYTES + " bytes");
      }
      if ((b == '\r' && matched % 2 == 0) || (b == '\n' && matched % 2 == 1)) {
        matched++;
      } else {
        matched = b == '\r' ? 1 : 0;
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private void fail(String why) {
    if (failure == null && !closed) {
      failure = why;
    }
  }

  /** Milliseconds to the deadline, at least 1 (a socket timeout of 0 would mean none). */
  private int remainingMillis() {
    long millis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
  }

  private boolean pastDeadline() {
    return System.nanoTime() - deadlineNanos >= 0;
  }

  private void track(Socket socket) {
    sockets.add(socket);
    if (closed) {
      closeQuietly(socket);
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // nothing to do
    }
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}

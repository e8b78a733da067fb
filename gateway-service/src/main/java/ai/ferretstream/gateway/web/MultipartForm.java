package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.RequestRejected;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A {@code multipart/form-data} body (RFC 7578) read from bytes already in memory: each part's
 * name, file name and content. The gateway reads request bodies without holding a thread (see
 * {@link RequestBodyFilter}) and parses uploads here, after the whole body arrived.
 *
 * @param parts the parts in body order
 */
record MultipartForm(List<Part> parts) {

  /** The most parts one form may have (the native API uses two). */
  static final int MAX_PARTS = 16;

  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] HEADERS_END = {'\r', '\n', '\r', '\n'};

  /**
   * One part.
   *
   * @param name its {@code Content-Disposition} name
   * @param filename its file name, or null for a plain field
   * @param contentType its {@code Content-Type}, or null
   * @param content its bytes
   */
  record Part(String name, String filename, String contentType, byte[] content) {}

  /** The first part named {@code name}, or null. */
  Part part(String name) {
    return parts.stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
  }

  /**
   * @param body the whole body
   * @param boundary the boundary from the request's {@code Content-Type}
   * @throws RequestRejected a 400 saying what is malformed
   */
  static MultipartForm parse(byte[] body, String boundary) {
    if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
      throw malformed("the Content-Type has no boundary of 1 to 70 characters");
    }
    byte[] dashBoundary = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    byte[] delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    int at = indexOf(body, dashBoundary, 0);
    if (at < 0 || (at > 0 && indexOf(body, delimiter, 0) != at - 2)) {
      throw malformed("the body does not start with the boundary of its Content-Type");
    }
    List<Part> parts = new ArrayList<>();
    int p = at + dashBoundary.length;
    while (true) {
      if (startsWith(body, p, new byte[] {'-', '-'})) {
        return new MultipartForm(List.copyOf(parts)); // the close delimiter
      }
      while (p < body.length && (body[p] == ' ' || body[p] == '\t')) {
        p++; // transport padding
      }
      if (!startsWith(body, p, CRLF)) {
        throw malformed("a boundary line is not followed by CRLF");
      }
      p += 2;
      int headersEnd = startsWith(body, p, CRLF) ? p - 2 : indexOf(body, HEADERS_END, p);
      if (headersEnd < 0) {
        throw malformed("part " + parts.size() + " has no end of its headers");
      }
      int contentStart = headersEnd + 4;
      int contentEnd = indexOf(body, delimiter, contentStart);
      if (contentEnd < 0) {
        throw malformed("part " + parts.size() + " is not closed by the boundary");
      }
      if (parts.size() == MAX_PARTS) {
        throw malformed("the form has more than " + MAX_PARTS + " parts");
      }
      String headers =
          headersEnd > p ? new String(body, p, headersEnd - p, StandardCharsets.UTF_8) : "";
      parts.add(part(headers, Arrays.copyOfRange(body, contentStart, contentEnd), parts.size()));
      p = contentEnd + delimiter.length;
    }
  }

  private static Part part(String headers, byte[] content, int index) {
    String name = null;
    String filename = null;
    String contentType = null;
    for (String line : headers.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        throw malformed("part " + index + " has a header line without a colon");
      }
      String header = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (header.equals("content-type")) {
        contentType = value;
      } else if (header.equals("content-disposition")) {
        List<String> fields = fields(value);
        if (fields.isEmpty() || !fields.get(0).equalsIgnoreCase("form-data")) {
          throw malformed("part " + index + " is not Content-Disposition: form-data");
        }
        for (String field : fields.subList(1, fields.size())) {
          int eq = field.indexOf('=');
          if (eq < 0) {
            continue;
          }
          String key = field.substring(0, eq).trim().toLowerCase(Locale.ROOT);
          String v = unquote(field.substring(eq + 1).trim());
          if (key.equals("name")) {
            name = v;
          } else if (key.equals("filename")) {
            filename = v;
          }
        }
      }
    }
    if (name == null) {
      throw malformed("part " + index + " has no Content-Disposition name");
    }
    return new Part(name, filename, contentType, content);
  }

  /** The {@code ;}-separated fields of a header value; semicolons in quotes stay. */
  private static List<String> fields(String value) {
    List<String> out = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' && (i == 0 || value.charAt(i - 1) != '\\')) {
        quoted = !quoted;
      }
      if (c == ';' && !quoted) {
        out.add(field.toString().trim());
        field.setLength(0);
      } else {
        field.append(c);
      }
    }
    out.add(field.toString().trim());
    return out;
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      return v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
    return v;
  }

  private static RequestRejected malformed(String why) {
    return RequestRejected.invalid(null, "the multipart/form-data body is malformed: " + why);
  }

  private static boolean startsWith(byte[] data, int at, byte[] prefix) {
    if (at < 0 || at + prefix.length > data.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (data[at + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] data, byte[] pattern, int from) {
    int last = data.length - pattern.length;
    byte first = pattern[0];
    for (int i = Math.max(0, from); i <= last; i++) {
      if (data[i] == first && startsWith(data, i, pattern)) {
        return i;
      }
    }
    return -1;
  }
}

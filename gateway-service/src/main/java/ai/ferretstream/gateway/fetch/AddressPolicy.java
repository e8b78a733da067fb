package ai.ferretstream.gateway.fetch;

import ai.ferretstream.gateway.domain.RequestRejected;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which addresses the gateway may fetch image URLs from (the SSRF guard). Refused unless allowed:
 * loopback, private (RFC 1918, IPv6 unique local {@code fc00::/7} and the old site-local {@code
 * fec0::/10}), link-local ({@code 169.254.0.0/16}, {@code fe80::/10}), multicast, unspecified and
 * "this network" ({@code 0.0.0.0/8}, {@code ::}), carrier-grade NAT ({@code 100.64.0.0/10}), the
 * reserved {@code 240.0.0.0/4} (with the broadcast address) and the deprecated IPv4-compatible
 * {@code ::/96}. IPv4 addresses inside IPv6 ones (IPv4-mapped {@code ::ffff:0:0/96}, NAT64 {@code
 * 64:ff9b::/96}, 6to4 {@code 2002::/16}) are judged by the IPv4 address they carry.
 *
 * <p>An operator opens exceptions with host names ({@code allow-hosts}: every address such a host
 * resolves to is accepted) and address ranges ({@code allow-cidrs}). The policy judges addresses
 * only; the caller resolves the host once and connects to exactly the addresses it judged.
 */
public final class AddressPolicy {

  /** The policy without exceptions. */
  public static final AddressPolicy STRICT = new AddressPolicy(List.of(), List.of());

  private static final List<Range> REFUSED_V4 =
      List.of(
          new Range(Cidr.parse("0.0.0.0/8"), "an unspecified ('this network') address"),
          new Range(Cidr.parse("127.0.0.0/8"), "a loopback address"),
          new Range(Cidr.parse("10.0.0.0/8"), "a private address"),
          new Range(Cidr.parse("172.16.0.0/12"), "a private address"),
          new Range(Cidr.parse("192.168.0.0/16"), "a private address"),
          new Range(Cidr.parse("100.64.0.0/10"), "a carrier-grade NAT address"),
          new Range(Cidr.parse("169.254.0.0/16"), "a link-local address"),
          new Range(Cidr.parse("224.0.0.0/4"), "a multicast address"),
          new Range(Cidr.parse("240.0.0.0/4"), "a reserved or broadcast address"));

  private static final List<Range> REFUSED_V6 =
      List.of(
          new Range(Cidr.parse("::/128"), "an unspecified address"),
          new Range(Cidr.parse("::1/128"), "a loopback address"),
          new Range(Cidr.parse("::/96"), "a deprecated IPv4-compatible address"),
          new Range(Cidr.parse("fc00::/7"), "a private (unique local) address"),
          new Range(Cidr.parse("fec0::/10"), "a private (site-local) address"),
          new Range(Cidr.parse("fe80::/10"), "a link-local address"),
          new Range(Cidr.parse("ff00::/8"), "a multicast address"));

  private static final Cidr MAPPED = Cidr.parse("::ffff:0:0/96");
  private static final Cidr NAT64 = Cidr.parse("64:ff9b::/96");
  private static final Cidr SIX_TO_FOUR = Cidr.parse("2002::/16");

  private final Set<String> allowHosts;
  private final List<Cidr> allowCidrs;

  /**
   * @param allowHosts host names or IP literals whose addresses are all accepted (compared without
   *     case; IPv6 literals with or without brackets)
   * @param allowCidrs address ranges that are accepted, e.g. {@code 10.1.0.0/16} or {@code
   *     fd00::/8} (a bare address is a single-address range)
   * @throws IllegalArgumentException for a range that does not parse
   */
  public AddressPolicy(Collection<String> allowHosts, Collection<String> allowCidrs) {
    Set<String> hosts = new TreeSet<>();
    for (String host : allowHosts) {
      String normalized = normalizeHost(host);
      if (!normalized.isEmpty()) {
        hosts.add(normalized);
      }
    }
    this.allowHosts = Set.copyOf(hosts);
    List<Cidr> cidrs = new ArrayList<>();
    for (String cidr : allowCidrs) {
      if (!cidr.isBlank()) {
        cidrs.add(Cidr.parse(cidr.trim()));
      }
    }
    this.allowCidrs = List.copyOf(cidrs);
  }

  /** Whether the host is on the allow-list (its addresses are then not checked). */
  public boolean hostAllowed(String host) {
    return allowHosts.contains(normalizeHost(host));
  }

  /**
   * Why the gateway may not connect to the address, e.g. {@code "a loopback address"}; {@code null}
   * when it may.
   */
  public String refusal(InetAddress address) {
    byte[] bytes = address.getAddress();
    byte[] embedded = embeddedV4(bytes);
    for (Cidr cidr : allowCidrs) {
      if (cidr.contains(bytes) || (embedded != null && cidr.contains(embedded))) {
        return null;
      }
    }
    if (bytes.length == 4) {
      return match(REFUSED_V4, bytes);
    }
    if (MAPPED.contains(bytes)) {
      String kind = match(REFUSED_V4, embedded);
      return kind == null ? null : kind + " (IPv4-mapped)";
    }
    String kind = match(REFUSED_V6, bytes);
    if (kind != null) {
      return kind;
    }
    if (embedded != null) {
      String inner = match(REFUSED_V4, embedded);
      if (inner != null) {
        return inner + (NAT64.contains(bytes) ? " (inside a NAT64 address)" : " (inside 6to4)");
      }
    }
    return null;
  }

  /**
   * Checks every address a host resolved to.
   *
   * @param host the URL's host, for the message
   * @param addresses all addresses it resolved to
   * @param param the request field, for the error
   * @throws RequestRejected {@code invalid_image_url} (400) naming the first refused address
   */
  public void check(String host, List<InetAddress> addresses, String param) {
    if (hostAllowed(host)) {
      return;
    }
    for (InetAddress address : addresses) {
      String refusal = refusal(address);
      if (refusal != null) {
        throw new RequestRejected(
            RequestRejected.Reason.INVALID,
            "invalid_image_url",
            param,
            "the image URL's host '"
                + host
                + "' resolves to "
                + refusal
                + " "
                + text(address)
                + ", which is not allowed");
      }
    }
  }

  /** The address as text; IPv6 in the short form of RFC 5952 ({@code ::1}, {@code fe80::1}). */
  static String text(InetAddress address) {
    byte[] b = address.getAddress();
    if (b.length == 4) {
      return address.getHostAddress();
    }
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        text.append("::");
        i += bestLength - 1;
        continue;
      }
      if (!text.isEmpty() && text.charAt(text.length() - 1) != ':') {
        text.append(':');
      }
      text.append(Integer.toHexString(groups[i]));
    }
    return text.toString();
  }

  private static String match(List<Range> ranges, byte[] bytes) {
    for (Range range : ranges) {
      if (range.cidr.contains(bytes)) {
        return range.kind;
      }
    }
    return null;
  }

  /** The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 address; null for other addresses. */
  private static byte[] embeddedV4(byte[] bytes) {
    if (bytes.length != 16) {
      return null;
    }
    if (MAPPED.contains(bytes) || NAT64.contains(bytes)) {
      return new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]};
    }
    if (SIX_TO_FOUR.contains(bytes)) {
      return new byte[] {bytes[2], bytes[3], bytes[4], bytes[5]};
    }
    return null;
  }

  /** Lower case, trailing dot and IPv6 brackets removed. */
  static String normalizeHost(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h;
  }

  private record Range(Cidr cidr, String kind) {}

  /**
   * An address range: {@code 10.0.0.0/8}, {@code fd00::/8}, or a bare address. Only literals are
   * parsed; nothing is looked up.
   *
   * @param network the network address bytes (4 or 16)
   * @param prefix the prefix length
   */
  public record Cidr(byte[] network, int prefix) {

    /**
     * @throws IllegalArgumentException when the text is not an IPv4 or IPv6 range
     */
    public static Cidr parse(String text) {
      int slash = text.indexOf('/');
      String address = slash < 0 ? text : text.substring(0, slash);
      byte[] bytes = IpLiterals.parse(address);
      if (bytes == null) {
        throw new IllegalArgumentException("'" + text + "' is not an IP address range");
      }
      int prefix = bytes.length * 8;
      if (slash >= 0) {
        try {
          prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
        }
        if (prefix < 0 || prefix > bytes.length * 8) {
          throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
        }
      }
      return new Cidr(bytes, prefix);
    }

    /**
     * Whether the address (4 or 16 bytes) lies in the range; addresses of the other family never.
     */
    public boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[full] & mask) == (network[full] & mask);
    }
  }
}

package ai.ferretstream.gateway.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.gateway.domain.RequestRejected;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AddressPolicyTest {

  /** An address from a literal, without a lookup; IPv4-mapped literals stay IPv6. */
  static InetAddress address(String literal) {
    byte[] bytes = IpLiterals.parse(literal);
    assertThat(bytes).as(literal).isNotNull();
    try {
      return bytes.length == 4
          ? InetAddress.getByAddress(bytes)
          : Inet6Address.getByAddress(null, bytes, -1);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "0.0.0.0          | an unspecified ('this network') address",
        "0.1.2.3          | an unspecified ('this network') address",
        "127.0.0.1        | a loopback address",
        "127.255.255.254  | a loopback address",
        "10.0.0.1         | a private address",
        "10.255.255.255   | a private address",
        "172.16.0.1       | a private address",
        "172.31.255.255   | a private address",
        "192.168.1.1      | a private address",
        "100.64.0.1       | a carrier-grade NAT address",
        "100.127.255.255  | a carrier-grade NAT address",
        "169.254.169.254  | a link-local address",
        "224.0.0.1        | a multicast address",
        "239.255.255.250  | a multicast address",
        "240.0.0.1        | a reserved or broadcast address",
        "255.255.255.255  | a reserved or broadcast address",
        "::               | an unspecified address",
        "::1              | a loopback address",
        "::7f00:1         | a deprecated IPv4-compatible address",
        "fc00::1          | a private (unique local) address",
        "fd12:3456::1     | a private (unique local) address",
        "fec0::1          | a private (site-local) address",
        "fe80::1          | a link-local address",
        "febf:ffff::1     | a link-local address",
        "ff02::1          | a multicast address",
        "::ffff:127.0.0.1 | a loopback address (IPv4-mapped)",
        "::ffff:10.1.2.3  | a private address (IPv4-mapped)",
        "::ffff:a9fe:a9fe | a link-local address (IPv4-mapped)",
        "::ffff:100.64.0.9| a carrier-grade NAT address (IPv4-mapped)",
        "::ffff:0.0.0.0   | an unspecified ('this network') address (IPv4-mapped)",
        "64:ff9b::7f00:1  | a loopback address (inside a NAT64 address)",
        "64:ff9b::c0a8:101| a private address (inside a NAT64 address)",
        "2002:7f00:1::1   | a loopback address (inside 6to4)",
        "2002:a9fe:a9fe::1| a link-local address (inside 6to4)",
      })
  void refusesEveryNonPublicRange(String literal, String kind) {
    assertThat(AddressPolicy.STRICT.refusal(address(literal.trim()))).isEqualTo(kind.trim());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "8.8.8.8",
        "93.184.216.34",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "169.253.255.255",
        "11.0.0.1",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001:81b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "fbff::1",
        "fe00::1",
      })
  void acceptsPublicAddresses(String literal) {
    assertThat(AddressPolicy.STRICT.refusal(address(literal))).isNull();
  }

  @Test
  void judgesMappedAddressesTheSameWhetherJavaConvertedThemOrNot() throws Exception {
    byte[] mapped = IpLiterals.parse("::ffff:127.0.0.1");
    InetAddress converted = InetAddress.getByAddress(mapped);
    InetAddress kept = Inet6Address.getByAddress(null, mapped, -1);

    assertThat(converted).isInstanceOf(Inet4Address.class);
    assertThat(kept).isInstanceOf(Inet6Address.class);
    assertThat(AddressPolicy.STRICT.refusal(converted)).isEqualTo("a loopback address");
    assertThat(AddressPolicy.STRICT.refusal(kept)).isEqualTo("a loopback address (IPv4-mapped)");
  }

  @Test
  void allowCidrsOpenExactlyTheirRanges() {
    AddressPolicy policy =
        new AddressPolicy(List.of(), List.of("10.20.0.0/16", "127.0.0.1", "fd00:1::/32"));

    assertThat(policy.refusal(address("10.20.3.4"))).isNull();
    assertThat(policy.refusal(address("10.21.0.1"))).isEqualTo("a private address");
    assertThat(policy.refusal(address("127.0.0.1"))).isNull();
    assertThat(policy.refusal(address("127.0.0.2"))).isEqualTo("a loopback address");
    assertThat(policy.refusal(address("fd00:1:ffff::1"))).isNull();
    assertThat(policy.refusal(address("fd00:2::1"))).isEqualTo("a private (unique local) address");
    // an IPv4 range also covers the IPv4-mapped form of its addresses
    assertThat(policy.refusal(address("::ffff:10.20.9.9"))).isNull();
    assertThat(policy.refusal(address("::ffff:127.0.0.1"))).isNull();
    // blank entries (an empty list item in YAML) are skipped
    assertThat(new AddressPolicy(List.of(" "), List.of(" ")).refusal(address("10.0.0.1")))
        .isEqualTo("a private address");
  }

  @Test
  void allowCidrsWithOddPrefixesMaskTheirLastByte() {
    AddressPolicy policy = new AddressPolicy(List.of(), List.of("100.64.0.0/10", "fe80::/10"));

    assertThat(policy.refusal(address("100.127.1.1"))).isNull();
    assertThat(policy.refusal(address("fe80::1"))).isNull();
    assertThat(policy.refusal(address("febf::1"))).isNull();
    assertThat(
            AddressPolicy.Cidr.parse("100.64.0.0/10").contains(address("100.128.0.0").getAddress()))
        .isFalse();
  }

  @Test
  void allowHostsSkipTheAddressCheckForThatHostOnly() {
    AddressPolicy policy =
        new AddressPolicy(List.of("Images.Internal", "[::1]", "10.0.0.7"), List.of());
    List<InetAddress> loopback = List.of(address("127.0.0.1"), address("::1"));

    policy.check("images.internal", loopback, "url");
    policy.check("IMAGES.INTERNAL.", loopback, "url");
    policy.check("::1", List.of(address("::1")), "url");
    policy.check("10.0.0.7", List.of(address("10.0.0.7")), "url");
    assertThat(policy.hostAllowed("[::1]")).isTrue();
    assertThat(policy.hostAllowed("other.internal")).isFalse();
    assertThat(policy.hostAllowed("images.internal.evil.example")).isFalse();
    assertThatThrownBy(() -> policy.check("other.internal", loopback, "url"))
        .isInstanceOf(RequestRejected.class);
  }

  @Test
  void checkRefusesWhenAnyResolvedAddressIsRefusedAndSaysWhy() {
    List<InetAddress> mixed = List.of(address("93.184.216.34"), address("127.0.0.1"));

    assertThatThrownBy(() -> AddressPolicy.STRICT.check("rebind.example", mixed, "messages[0].x"))
        .isInstanceOfSatisfying(
            RequestRejected.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RequestRejected.Reason.INVALID);
              assertThat(e.code()).isEqualTo("invalid_image_url");
              assertThat(e.param()).isEqualTo("messages[0].x");
              assertThat(e.getMessage())
                  .isEqualTo(
                      "the image URL's host 'rebind.example' resolves to a loopback address"
                          + " 127.0.0.1, which is not allowed");
            });
    AddressPolicy.STRICT.check("example.com", List.of(address("93.184.216.34")), "url");
  }

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1, 127.0.0.1",
    "::, ::",
    "::1, ::1",
    "fe80::1, fe80::1",
    "fe80:0:0:0:0:0:0:1, fe80::1",
    "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
    "1:0:0:2:0:0:0:3, 1:0:0:2::3",
    "::ffff:7f00:1, ::ffff:7f00:1",
    "fd00:0:0:0:0:0:0:0, fd00::"
  })
  void writesAddressesInTheirShortForm(String literal, String text) {
    assertThat(AddressPolicy.text(address(literal))).isEqualTo(text);
  }

  @Test
  void namesIpv6AddressesInTheirShortForm() {
    assertThatThrownBy(() -> AddressPolicy.STRICT.check("v6.test", List.of(address("::1")), "url"))
        .hasMessage(
            "the image URL's host 'v6.test' resolves to a loopback address ::1, which is not allowed");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "10.0.0.0/33",
        "10.0.0/8",
        "fd00::/129",
        "example.com/8",
        "10.0.0.0/x",
        "::1%eth0"
      })
  void refusesRangesThatDoNotParse(String cidr) {
    assertThatThrownBy(() -> new AddressPolicy(List.of(), List.of(cidr)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(cidr);
  }
}

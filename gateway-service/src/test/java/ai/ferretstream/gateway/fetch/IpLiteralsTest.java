package ai.ferretstream.gateway.fetch;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IpLiteralsTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0.0.0.0",
        "127.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "1::",
        "fe80::1",
        "2001:db8::8:800:200c:417a",
        "2001:db8:0:0:8:800:200c:417a",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "::ffff:192.0.2.1",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4",
        "[::1]",
        "FD00::ABCD"
      })
  void parsesLiteralsLikeTheJdk(String literal) throws Exception {
    String bare = literal.replace("[", "").replace("]", "");
    // InetAddress.getByName does not look up literals; 16-byte mapped results are converted to 4
    byte[] expected = InetAddress.getByName(bare).getAddress();
    byte[] parsed = IpLiterals.parse(literal);

    assertThat(parsed).isNotNull();
    if (parsed.length == 16 && expected.length == 4) {
      assertThat(java.util.Arrays.copyOfRange(parsed, 12, 16)).isEqualTo(expected);
    } else {
      assertThat(parsed).isEqualTo(expected);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "localhost",
        "example.com",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.1",
        "01.2.3.4",
        "0x7f.0.0.1",
        "2130706433",
        "1.2.3.-4",
        ":::",
        "1::2::3",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "12345::",
        "g::1",
        "1.2.3.4::",
        "::1.2.3.4:5",
        "fe80::1%eth0"
      })
  void refusesEverythingElse(String text) {
    assertThat(IpLiterals.parse(text)).isNull();
  }
}

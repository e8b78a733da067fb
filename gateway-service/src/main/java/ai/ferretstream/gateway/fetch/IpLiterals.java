package ai.ferretstream.gateway.fetch;

/**
 * Strict parsing of IP address literals, without any name lookup: IPv4 as four decimal parts
 * ({@code 10.0.0.1}), IPv6 in RFC 4291 text form with {@code ::} and an optional dotted IPv4 tail,
 * with or without brackets. Zone ids ({@code %eth0}) are not accepted.
 */
final class IpLiterals {

  private IpLiterals() {}

  /** The address bytes (4 or 16), or null when the text is not a literal. */
  static byte[] parse(String text) {
    String s = text.trim();
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    return s.indexOf(':') >= 0 ? v6(s) : v4(s);
  }

  static byte[] v4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return null;
    }
    byte[] bytes = new byte[4];
    for (int i = 0; i < 4; i++) {
      String part = parts[i];
      if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)) {
        return null;
      }
      int value = Integer.parseInt(part);
      if (value > 255 || (part.length() > 1 && part.charAt(0) == '0')) {
        return null;
      }
      bytes[i] = (byte) value;
    }
    return bytes;
  }

  static byte[] v6(String s) {
    byte[] bytes = new byte[16];
    int gap = s.indexOf("::");
    if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
      return null;
    }
    String head = gap >= 0 ? s.substring(0, gap) : s;
    String tail = gap >= 0 ? s.substring(gap + 2) : "";
    int[] headGroups = groups(head, gap < 0);
    if (headGroups == null) {
      return null;
    }
    int[] tailGroups = gap >= 0 ? groups(tail, true) : new int[0];
    if (tailGroups == null) {
      return null;
    }
    int total = headGroups.length + tailGroups.length;
    if (gap < 0 ? total != 8 : total > 7) {
      return null;
    }
    for (int i = 0; i < headGroups.length; i++) {
      bytes[2 * i] = (byte) (headGroups[i] >> 8);
      bytes[2 * i + 1] = (byte) headGroups[i];
    }
    int offset = 8 - tailGroups.length;
    for (int i = 0; i < tailGroups.length; i++) {
      bytes[2 * (offset + i)] = (byte) (tailGroups[i] >> 8);
      bytes[2 * (offset + i) + 1] = (byte) tailGroups[i];
    }
    return bytes;
  }

  /**
   * 16-bit groups of a colon-separated run; a dotted IPv4 address may end the run (two groups) when
   * {@code v4Allowed}. An empty run has no groups.
   */
  private static int[] groups(String run, boolean v4Allowed) {
    if (run.isEmpty()) {
      return new int[0];
    }
    String[] parts = run.split(":", -1);
    int count = parts.length;
    byte[] v4 = null;
    if (parts[count - 1].indexOf('.') >= 0) {
      if (!v4Allowed) {
        return null;
      }
      v4 = v4(parts[count - 1]);
      if (v4 == null) {
        return null;
      }
      count--;
    }
    int[] groups = new int[count + (v4 == null ? 0 : 2)];
    for (int i = 0; i < count; i++) {
      String part = parts[i];
      if (part.isEmpty() || part.length() > 4) {
        return null;
      }
      int value = 0;
      for (int j = 0; j < part.length(); j++) {
        int digit = Character.digit(part.charAt(j), 16);
        if (digit < 0) {
          return null;
        }
        value = value * 16 + digit;
      }
      groups[i] = value;
    }
    if (v4 != null) {
      groups[count] = ((v4[0] & 0xff) << 8) | (v4[1] & 0xff);
      groups[count + 1] = ((v4[2] & 0xff) << 8) | (v4[3] & 0xff);
    }
    return groups;
  }
}

package ai.ferretstream.launcher;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options, {@code --flag}s and positional arguments. An option given
 * more than once keeps every value in order ({@link #all}); {@link #get} reads the last one.
 */
final class CliArgs {

  private final Map<String, List<String>> options = new HashMap<>();
  private final List<String> positional = new ArrayList<>();

  /**
   * @param args the arguments after the command
   * @param valued options that take a value ({@code --port 8080} or {@code --port=8080})
   * @param flags options without a value
   */
  static CliArgs parse(List<String> args, Set<String> valued, Set<String> flags) {
    return parse(args, valued, flags, Map.of());
  }

  /**
   * @param shortNames one-letter spellings of options, e.g. {@code "-q" -> "question"}; any other
   *     argument starting with a single {@code -} is positional
   */
  static CliArgs parse(
      List<String> args, Set<String> valued, Set<String> flags, Map<String, String> shortNames) {
    CliArgs parsed = new CliArgs();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--")) {
        parsed.positional.addAll(args.subList(i + 1, args.size()));
        break;
      }
      String longName = shortNames.get(arg);
      if (longName != null) {
        arg = "--" + longName;
      }
      if (!arg.startsWith("--") || arg.length() == 2) {
        parsed.positional.add(arg);
        continue;
      }
      String name = arg.substring(2);
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (flags.contains(name)) {
        if (value != null) {
          throw new UsageException("--" + name + " takes no value");
        }
        parsed.options.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
      } else if (valued.contains(name)) {
        if (value == null) {
          if (i + 1 >= args.size()) {
            throw new UsageException("--" + name + " needs a value");
          }
          value = args.get(++i);
        }
        parsed.options.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      } else {
        throw new UsageException("unknown option --" + name);
      }
    }
    return parsed;
  }

  /** The option's last value, or the fallback when it was not given. */
  String get(String name, String fallback) {
    List<String> values = options.get(name);
    return values == null ? fallback : values.get(values.size() - 1);
  }

  /** Every value the option was given, in order; empty when it was not given. */
  List<String> all(String name) {
    return List.copyOf(options.getOrDefault(name, List.of()));
  }

  boolean flag(String name) {
    return options.containsKey(name);
  }

  int port(String name, int fallback) {
    String value = get(name, null);
    if (value == null) {
      return fallback;
    }
    try {
      int port = Integer.parseInt(value);
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be a port number (0-65535), was " + value);
    }
  }

  int positiveInt(String name, int fallback) {
    String value = get(name, null);
    if (value == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < 1) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be a positive integer, was " + value);
    }
  }

  List<String> positional() {
    return positional;
  }
}

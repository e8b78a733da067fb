package ai.ferretstream.launcher;

/** A command line the CLI cannot run; printed with the usage, exit status 2. */
final class UsageException extends RuntimeException {
  UsageException(String message) {
    super(message);
  }
}

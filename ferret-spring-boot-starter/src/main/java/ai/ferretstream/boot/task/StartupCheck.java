package ai.ferretstream.boot.task;

import org.springframework.context.SmartLifecycle;

/**
 * A check that runs once when the application context starts, before the Kafka listener containers
 * (which start late in the default phase): a failure stops the start-up with its message, so a
 * service never consumes records it cannot handle.
 */
public abstract class StartupCheck implements SmartLifecycle {

  /** The phase of the topic checks; model checks run after them. */
  public static final int TOPICS_PHASE = Integer.MIN_VALUE + 1000;

  /** The phase of the model contract checks. */
  public static final int MODELS_PHASE = Integer.MIN_VALUE + 2000;

  private final int phase;
  private volatile boolean running;

  protected StartupCheck(int phase) {
    this.phase = phase;
  }

  /**
   * Runs the check.
   *
   * @throws IllegalStateException saying what is wrong
   */
  public abstract void verify();

  @Override
  public final void start() {
    verify();
    running = true;
  }

  @Override
  public final void stop() {
    running = false;
  }

  @Override
  public final boolean isRunning() {
    return running;
  }

  @Override
  public final int getPhase() {
    return phase;
  }
}

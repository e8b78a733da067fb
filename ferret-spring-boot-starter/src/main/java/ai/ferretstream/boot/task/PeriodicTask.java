package ai.ferretstream.boot.task;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * A task that runs at a fixed delay on its own daemon thread while the application context runs
 * (deadline sweeps and the like). A failing run is logged and the next one still happens.
 */
public abstract class PeriodicTask implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(PeriodicTask.class);

  private final String threadName;
  private final Duration interval;
  private ScheduledExecutorService scheduler;

  /**
   * @param threadName name of the thread that runs the task, also used in failure logs
   * @param interval delay between the end of one run and the start of the next
   */
  protected PeriodicTask(String threadName, Duration interval) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException(threadName + ": interval must be positive: " + interval);
    }
    this.threadName = threadName;
    this.interval = interval;
  }

  /** One run of the task. */
  protected abstract void runOnce();

  @Override
  public synchronized void start() {
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, threadName);
              t.setDaemon(true);
              return t;
            });
    scheduler.scheduleWithFixedDelay(
        () -> {
          try {
            runOnce();
          } catch (RuntimeException e) {
            log.error("{} failed; it runs again in {}", threadName, interval, e);
          }
        },
        interval.toMillis(),
        interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void stop() {
    if (scheduler != null) {
      scheduler.shutdownNow();
      scheduler = null;
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return scheduler != null;
  }
}

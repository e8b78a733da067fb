package ai.ferretstream.gateway.web;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one connection's output tasks in submission order on a shared pool, one at a time, so the
 * answers consumer only enqueues and never blocks on a slow client. Tasks submitted before {@link
 * #start} wait for it.
 */
final class OrderedWriter {

  private static final Logger log = LoggerFactory.getLogger(OrderedWriter.class);

  private final Executor executor;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean started;

  OrderedWriter(Executor executor) {
    this.executor = executor;
  }

  void submit(Runnable task) {
    tasks.add(task);
    if (started) {
      schedule();
    }
  }

  void start() {
    started = true;
    schedule();
  }

  private void schedule() {
    if (!tasks.isEmpty() && scheduled.compareAndSet(false, true)) {
      executor.execute(this::drain);
    }
  }

  private void drain() {
    try {
      Runnable task;
      while ((task = tasks.poll()) != null) {
        try {
          task.run();
        } catch (RuntimeException e) {
          log.warn("a response write failed", e);
        }
      }
    } finally {
      scheduled.set(false);
    }
    schedule();
  }
}

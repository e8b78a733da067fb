package ai.ferretstream.tiler.domain.resample;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Spreads the row chunks of one image over a pool of threads, but only while no other image holds
 * the pool: with one request in flight a large image uses every core; under load each request runs
 * on its own listener thread and the cores are already busy, so the chunks run sequentially there.
 */
public final class Parallelism implements AutoCloseable {

  private static final Parallelism SEQUENTIAL = new Parallelism(null);

  private final ForkJoinPool pool;
  private final AtomicBoolean busy = new AtomicBoolean();

  private Parallelism(ForkJoinPool pool) {
    this.pool = pool;
  }

  /** Everything on the calling thread. */
  public static Parallelism sequential() {
    return SEQUENTIAL;
  }

  /** Up to {@code threads} threads per image while the pool is free; 1 means sequential. */
  public static Parallelism of(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be positive: " + threads);
    }
    return threads == 1 ? SEQUENTIAL : new Parallelism(new ForkJoinPool(threads));
  }

  /** Threads one image may use. */
  public int threads() {
    return pool == null ? 1 : pool.getParallelism();
  }

  /** Runs {@code task(0 .. tasks-1)}, in parallel when the pool is free, and waits for all. */
  void forEach(int tasks, IntConsumer task) {
    if (pool != null && tasks > 1 && busy.compareAndSet(false, true)) {
      try {
        pool.submit(() -> IntStream.range(0, tasks).parallel().forEach(task)).join();
      } finally {
        busy.set(false);
      }
    } else {
      for (int i = 0; i < tasks; i++) {
        task.accept(i);
      }
    }
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdown();
    }
  }
}

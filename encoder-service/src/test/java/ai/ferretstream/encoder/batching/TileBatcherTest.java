package ai.ferretstream.encoder.batching;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TileBatcherTest {

  private static List<Integer> items(List<TileBatcher.Batched<Integer>> batch) {
    return batch.stream().map(TileBatcher.Batched::item).toList();
  }

  @Test
  void closesAFullBatchWithoutWaitingForTheDelay() throws Exception {
    // an hour of delay: only a full batch can come back before the test's timeout
    TileBatcher<Integer> batcher = new TileBatcher<>(4, Duration.ofHours(1), System::nanoTime);
    for (int i = 0; i < 6; i++) {
      batcher.add(i);
    }

    assertThat(items(batcher.next())).containsExactly(0, 1, 2, 3);
    assertThat(batcher.size()).isEqualTo(2);
  }

  @Test
  void closesAPartialBatchOnceItsOldestItemHasWaitedTheDelay() throws Exception {
    TileBatcher<Integer> batcher = new TileBatcher<>(8, Duration.ofMillis(30), System::nanoTime);
    batcher.add(1);
    batcher.add(2);

    List<TileBatcher.Batched<Integer>> batch = batcher.next();

    assertThat(items(batch)).containsExactly(1, 2);
    // the oldest waited at least the delay (a lower bound, not a speed assertion)
    assertThat(batch.get(0).queuedNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());
  }

  /** Items "request/size/index": their group is the request, of the given size. */
  private static TileBatcher<String> grouped(int maxBatchSize, Duration delay) {
    return new TileBatcher<>(
        maxBatchSize,
        delay,
        System::nanoTime,
        item -> item.split("/")[0],
        item -> Integer.parseInt(item.split("/")[1]));
  }

  @Test
  void closesAtOnceWhenTheBatchHoldsOnlyWholeGroups() throws Exception {
    // an hour of delay: only the group rule can close these batches before the test's timeout
    TileBatcher<String> batcher = grouped(16, Duration.ofHours(1));
    batcher.add("a/1/0");

    assertThat(batcher.next()).extracting(TileBatcher.Batched::item).containsExactly("a/1/0");

    batcher.add("b/3/0");
    batcher.add("c/1/0");
    batcher.add("b/3/1");
    batcher.add("b/3/2");

    assertThat(batcher.next())
        .extracting(TileBatcher.Batched::item)
        .containsExactly("b/3/0", "c/1/0", "b/3/1", "b/3/2");
  }

  @Test
  void waitsTheDelayForTheRestOfAGroupStillArriving() throws Exception {
    TileBatcher<String> batcher = grouped(16, Duration.ofMillis(30));
    batcher.add("a/1/0");
    batcher.add("b/3/0");
    batcher.add("b/3/1");

    List<TileBatcher.Batched<String>> batch = batcher.next();

    assertThat(batch)
        .extracting(TileBatcher.Batched::item)
        .containsExactly("a/1/0", "b/3/0", "b/3/1");
    assertThat(batch.get(0).queuedNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());
  }

  @Test
  void theLastItemOfAGroupWakesAWaitingWorker() throws Exception {
    TileBatcher<String> batcher = grouped(16, Duration.ofHours(1));
    ExecutorService worker = Executors.newSingleThreadExecutor();
    try {
      batcher.add("a/2/0");
      Future<List<TileBatcher.Batched<String>>> batch = worker.submit(batcher::next);
      batcher.add("a/2/1");

      assertThat(batch.get(10, TimeUnit.SECONDS))
          .extracting(TileBatcher.Batched::item)
          .containsExactly("a/2/0", "a/2/1");
    } finally {
      worker.shutdownNow();
    }
  }

  @Test
  void aZeroDelayTakesWhatIsThere() throws Exception {
    TileBatcher<Integer> batcher = new TileBatcher<>(8, Duration.ZERO, System::nanoTime);
    batcher.add(7);

    assertThat(items(batcher.next())).containsExactly(7);
  }

  @Test
  void waitsForTheFirstItem() throws Exception {
    TileBatcher<Integer> batcher = new TileBatcher<>(2, Duration.ofMillis(5), System::nanoTime);
    ExecutorService worker = Executors.newSingleThreadExecutor();
    try {
      Future<List<TileBatcher.Batched<Integer>>> batch = worker.submit(batcher::next);
      Thread.sleep(50);
      assertThat(batch).isNotDone();

      batcher.add(42);

      assertThat(items(batch.get(10, TimeUnit.SECONDS))).containsExactly(42);
    } finally {
      worker.shutdownNow();
    }
  }

  @Test
  void servesSeveralWorkersEachItemExactlyOnceInOrder() throws Exception {
    TileBatcher<Integer> batcher = new TileBatcher<>(5, Duration.ofMillis(2), System::nanoTime);
    int total = 1000;
    List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(total);
    ExecutorService workers = Executors.newFixedThreadPool(3);
    try {
      for (int w = 0; w < 3; w++) {
        workers.submit(
            () -> {
              while (true) {
                List<TileBatcher.Batched<Integer>> batch = batcher.next();
                if (batch.isEmpty()) {
                  return null;
                }
                assertThat(batch.size()).isBetween(1, 5);
                List<Integer> got = items(batch);
                for (int i = 1; i < got.size(); i++) {
                  assertThat(got.get(i)).isGreaterThan(got.get(i - 1)); // FIFO within a batch
                }
                seen.addAll(got);
                got.forEach(x -> done.countDown());
              }
            });
      }
      for (int i = 0; i < total; i++) {
        batcher.add(i);
      }
      assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
      batcher.close();
    } finally {
      workers.shutdown();
      assertThat(workers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(seen).hasSize(total).doesNotHaveDuplicates();
  }

  @Test
  void removesTheItemsOfLostPartitions() {
    TileBatcher<Integer> batcher = new TileBatcher<>(8, Duration.ofHours(1), System::nanoTime);
    for (int i = 0; i < 6; i++) {
      batcher.add(i);
    }

    assertThat(batcher.removeIf(i -> i % 2 == 0)).containsExactly(0, 2, 4);
    assertThat(batcher.size()).isEqualTo(3);
  }

  @Test
  void closingWakesWaitingWorkersWithAnEmptyBatch() throws Exception {
    TileBatcher<Integer> batcher = new TileBatcher<>(2, Duration.ofHours(1), System::nanoTime);
    ExecutorService worker = Executors.newSingleThreadExecutor();
    try {
      Future<List<TileBatcher.Batched<Integer>>> batch = worker.submit(batcher::next);
      batcher.add(1); // one item, an hour from closing on its own
      Thread.sleep(20);

      batcher.close();

      assertThat(batch.get(10, TimeUnit.SECONDS)).isEmpty();
    } finally {
      worker.shutdownNow();
    }
  }
}

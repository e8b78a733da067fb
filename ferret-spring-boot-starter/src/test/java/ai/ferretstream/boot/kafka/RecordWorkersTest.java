package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RecordWorkersTest {

  private static final SourcePartition P0 = new SourcePartition("t", 0);

  private final OffsetTracker tracker = new OffsetTracker();
  private final List<String> recovered = new CopyOnWriteArrayList<>();
  private final AtomicInteger pauses = new AtomicInteger();
  private final AtomicInteger resumes = new AtomicInteger();
  private RecordWorkers<String> workers;

  private RecordWorkers<String> workers(int window, RecordWorkers.Handler<String> handler) {
    workers =
        new RecordWorkers<>(
            "test",
            handler,
            tracker,
            (record, e) -> recovered.add(record.value() + ": " + e.getMessage()),
            window,
            2,
            Duration.ofMillis(5),
            Duration.ofSeconds(5),
            new SimpleMeterRegistry());
    workers.attach(pauses::incrementAndGet, resumes::incrementAndGet);
    workers.start();
    return workers;
  }

  @AfterEach
  void stop() {
    if (workers != null) {
      workers.stop();
    }
  }

  private static ConsumerRecord<String, String> record(long offset, String value) {
    return new ConsumerRecord<>("t", 0, offset, value, value);
  }

  @Test
  void runsAWholeWindowAtOnceAndPausesTheConsumerUntilItDrains() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    workers(
        8,
        (record, received) -> {
          most.accumulateAndGet(running.incrementAndGet(), Math::max);
          release.await(10, TimeUnit.SECONDS);
          running.decrementAndGet();
        });
    for (int i = 0; i < 8; i++) {
      tracker.seen(P0, i);
      workers.submit(record(i, "r" + i), 0);
    }

    await().atMost(Duration.ofSeconds(10)).until(() -> running.get() == 8);
    assertThat(pauses.get()).isEqualTo(1);
    // nothing finished: nothing may be committed
    assertThat(tracker.committable(P0)).isZero();

    release.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> workers.inFlight() == 0);
    assertThat(most.get()).isEqualTo(8);
    assertThat(resumes.get()).isEqualTo(1);
    assertThat(tracker.committable(P0)).isEqualTo(8);
  }

  @Test
  void commitsOnlyBelowTheOldestUnfinishedRecord() throws Exception {
    CountDownLatch slow = new CountDownLatch(1);
    workers(
        4,
        (record, received) -> {
          if (record.value().equals("slow")) {
            slow.await(10, TimeUnit.SECONDS);
          }
        });
    tracker.seen(P0, 0);
    workers.submit(record(0, "slow"), 0);
    tracker.seen(P0, 1);
    workers.submit(record(1, "fast"), 0);

    await().atMost(Duration.ofSeconds(10)).until(() -> workers.inFlight() == 1);
    assertThat(tracker.committable(P0)).isZero();
    slow.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> tracker.committable(P0) == 2);
  }

  @Test
  void retriesTransientFailuresThenHandsThemToTheRecoverer() {
    AtomicInteger attempts = new AtomicInteger();
    workers(
        2,
        (record, received) -> {
          attempts.incrementAndGet();
          throw new TransientFailure("server busy");
        });
    tracker.seen(P0, 0);
    workers.submit(record(0, "r"), 0);

    await().atMost(Duration.ofSeconds(10)).until(() -> !recovered.isEmpty());
    assertThat(attempts.get()).isEqualTo(3); // once, then two retries
    assertThat(recovered).containsExactly("r: server busy");
    await().atMost(Duration.ofSeconds(10)).until(() -> tracker.committable(P0) == 1);
  }

  @Test
  void doesNotRetryOtherFailures() {
    AtomicInteger attempts = new AtomicInteger();
    workers(
        2,
        (record, received) -> {
          attempts.incrementAndGet();
          throw new PermanentFailure("invalid_request", "bad input");
        });
    workers.submit(record(0, "r"), 0);

    await().atMost(Duration.ofSeconds(10)).until(() -> !recovered.isEmpty());
    assertThat(attempts.get()).isEqualTo(1);
  }

  @Test
  void awaitFinishedWaitsForTheRecordsOfThePartition() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    workers(2, (record, received) -> release.await(10, TimeUnit.SECONDS));
    workers.submit(record(0, "r"), 0);

    assertThat(workers.awaitFinished(List.of(P0), Duration.ofMillis(50))).isFalse();
    release.countDown();
    assertThat(workers.awaitFinished(List.of(P0), Duration.ofSeconds(10))).isTrue();
  }
}

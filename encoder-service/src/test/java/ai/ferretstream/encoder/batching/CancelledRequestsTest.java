package ai.ferretstream.encoder.batching;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CancelledRequestsTest {

  private final AtomicLong now = new AtomicLong(1_000);

  @Test
  void remembersACancelUntilItExpires() {
    CancelledRequests cancelled = new CancelledRequests(10, Duration.ofSeconds(5), now::get);

    cancelled.cancel("a");

    assertThat(cancelled.isCancelled("a")).isTrue();
    assertThat(cancelled.isCancelled("b")).isFalse();
    now.addAndGet(5_000);
    assertThat(cancelled.isCancelled("a")).isFalse();
  }

  @Test
  void keepsAtMostItsCapacityDroppingTheOldest() {
    CancelledRequests cancelled = new CancelledRequests(3, Duration.ofHours(1), now::get);

    for (int i = 0; i < 5; i++) {
      cancelled.cancel("r" + i);
    }

    assertThat(cancelled.size()).isEqualTo(3);
    assertThat(cancelled.isCancelled("r0")).isFalse();
    assertThat(cancelled.isCancelled("r4")).isTrue();
  }
}

package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentIdsTest {

  private final AtomicLong now = new AtomicLong(1_000);

  @Test
  void remembersACancelUntilItExpires() {
    RecentIds cancelled = new RecentIds(10, Duration.ofSeconds(5), now::get);

    cancelled.add("a");

    assertThat(cancelled.contains("a")).isTrue();
    assertThat(cancelled.contains("b")).isFalse();
    now.addAndGet(5_000);
    assertThat(cancelled.contains("a")).isFalse();
  }

  @Test
  void keepsAtMostItsCapacityDroppingTheOldest() {
    RecentIds cancelled = new RecentIds(3, Duration.ofHours(1), now::get);

    for (int i = 0; i < 5; i++) {
      cancelled.add("r" + i);
    }

    assertThat(cancelled.size()).isEqualTo(3);
    assertThat(cancelled.contains("r0")).isFalse();
    assertThat(cancelled.contains("r4")).isTrue();
  }

  @Test
  void tellsWhetherAnIdWasNewAndForgetsOnRequest() {
    RecentIds seen = new RecentIds(10, Duration.ofMinutes(1), now::get);

    assertThat(seen.add("x")).isTrue();
    assertThat(seen.add("x")).isFalse();
    seen.remove("x");
    assertThat(seen.add("x")).isTrue();
  }
}

package ai.ferretstream.llm.domain;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DeltaCoalescerTest {

  private final AtomicLong now = new AtomicLong(1_000);

  @Test
  void emitsEveryNPieces() {
    DeltaCoalescer coalescer = new DeltaCoalescer(3);

    assertThat(coalescer.add("a")).isNull();
    assertThat(coalescer.add("b")).isNull();
    assertThat(coalescer.add("c")).isEqualTo("abc");
    assertThat(coalescer.add("d")).isNull();
    assertThat(coalescer.flush()).isEqualTo("d");
  }

  @Test
  void emitsEarlierWhenTheOldestPendingPieceWaitedTheDelay() {
    DeltaCoalescer coalescer = new DeltaCoalescer(100, 50, now::get);

    assertThat(coalescer.add("slow")).isNull();
    now.addAndGet(49);
    assertThat(coalescer.add(" model")).isNull();
    now.addAndGet(1);
    assertThat(coalescer.add(" here")).isEqualTo("slow model here");
    // the clock restarts with the next pending piece
    now.addAndGet(10);
    assertThat(coalescer.add("!")).isNull();
  }
}

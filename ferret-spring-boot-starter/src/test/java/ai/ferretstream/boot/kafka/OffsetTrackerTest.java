package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class OffsetTrackerTest {

  private static final SourcePartition P0 = new SourcePartition("ferret.features", 0);
  private static final SourcePartition P1 = new SourcePartition("ferret.features", 1);

  private final OffsetTracker tracker = new OffsetTracker();

  @Test
  void nothingToCommitBeforeAnyRecord() {
    assertThat(tracker.committable(P0)).isEqualTo(-1);
  }

  @Test
  void commitsAfterTheLastSeenRecordWhenNothingIsHeld() {
    tracker.seen(P0, 0);
    tracker.seen(P0, 1);
    assertThat(tracker.committable(P0)).isEqualTo(2);
  }

  @Test
  void neverCommitsPastARecordOfAnUnfinishedRequest() {
    tracker.seen(P0, 0);
    tracker.hold(P0, 1); // request A, waiting for more features
    tracker.seen(P0, 2);
    tracker.hold(P0, 3); // request B
    tracker.seen(P0, 4);
    assertThat(tracker.committable(P0)).isEqualTo(1);
    tracker.release(P0, 3); // B finished first: A still holds offset 1
    assertThat(tracker.committable(P0)).isEqualTo(1);
    tracker.release(P0, 1); // A finished
    assertThat(tracker.committable(P0)).isEqualTo(5);
  }

  @Test
  void committedOffsetsAreNotOfferedAgain() {
    tracker.seen(P0, 0);
    tracker.committed(P0, tracker.pending(List.of(P0)).get(P0));
    assertThat(tracker.committable(P0)).isEqualTo(-1);
    tracker.seen(P0, 1);
    assertThat(tracker.committable(P0)).isEqualTo(2);
  }

  @Test
  void redeliveredRecordsDoNotMoveTheCommitPointBack() {
    tracker.seen(P0, 5);
    tracker.seen(P0, 3);
    assertThat(tracker.committable(P0)).isEqualTo(6);
  }

  @Test
  void partitionsAreTrackedApart() {
    tracker.hold(P0, 7);
    tracker.seen(P1, 2);
    assertThat(tracker.pending(List.of(P0, P1)))
        .hasEntrySatisfying(P0, c -> assertThat(c.offset()).isEqualTo(7L))
        .hasEntrySatisfying(P1, c -> assertThat(c.offset()).isEqualTo(3L));
  }

  @Test
  void forgottenPartitionsHaveNothingToCommit() {
    tracker.hold(P0, 7);
    tracker.forget(P0);
    assertThat(tracker.committable(P0)).isEqualTo(-1);
    assertThat(tracker.held(P0)).isZero();
  }

  @Test
  void aRequestFinishingWhileACommitIsOnItsWayIsNamedByAnotherCommit() {
    tracker.hold(P0, 0); // request A keeps the commit point at 0
    tracker.hold(P0, 1);
    tracker.hold(P0, 2);
    tracker.release(P0, 1);
    tracker.finished(P0, "b", 1);
    OffsetTracker.Pending commit = tracker.pending(List.of(P0)).get(P0);
    assertThat(commit.offset()).isZero();
    assertThat(commit.finished()).containsExactly("b");

    // c finishes on a producer thread after the metadata was taken, before the broker answered
    tracker.release(P0, 2);
    tracker.finished(P0, "c", 2);
    tracker.committed(P0, commit);

    // the offset cannot move (A still holds 0), yet c must reach a commit's metadata
    assertThat(tracker.pending(List.of(P0))).as("a commit still due").containsKey(P0);
    assertThat(tracker.pending(List.of(P0)).get(P0).finished()).containsExactly("b", "c");
    tracker.committed(P0, tracker.pending(List.of(P0)).get(P0));
    assertThat(tracker.pending(List.of(P0))).isEmpty();
  }
}

package ai.ferretstream.fusion.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.kafka.OffsetTracker;
import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.fusion.TestFeatures;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import com.google.protobuf.ByteString;
import java.util.List;
import org.junit.jupiter.api.Test;

class JoinBookTest {

  private static final SourcePartition P0 = new SourcePartition("ferret.features", 0);
  private static final SourcePartition P1 = new SourcePartition("ferret.features", 1);
  private static final GridLayout GRID_2X1 = TestFeatures.layout(2, 1, 640, 320);
  private static final long NOW = 1_000_000;

  private final OffsetTracker tracker = new OffsetTracker();
  private final JoinBook book = new JoinBook(2, 60_000, 100, 600_000, tracker);

  private static TileFeatures global(RequestContext c) {
    return TestFeatures.global(c, GRID_2X1, 2, 2);
  }

  private static TileFeatures local(RequestContext c, int k) {
    return TestFeatures.local(c, GRID_2X1, k, 2, 2);
  }

  private JoinBook.Status offer(TileFeatures f, long offset) {
    tracker.seen(P0, offset);
    return book.offer(f, P0, offset, NOW).status();
  }

  @Test
  void joinIsReadyOnceTheGlobalAndEveryLocalMapArrived() {
    RequestContext a = TestFeatures.context("a", 0);
    assertThat(offer(local(a, 1), 0)).isEqualTo(JoinBook.Status.WAITING);
    assertThat(offer(global(a), 1)).isEqualTo(JoinBook.Status.WAITING);
    JoinBook.Offer ready = book.offer(local(a, 0), P0, 2, NOW);
    assertThat(ready.status()).isEqualTo(JoinBook.Status.READY);
    assertThat(ready.join().local(1)).isEqualTo(local(a, 1));
    assertThat(ready.join().global()).isEqualTo(global(a));
  }

  @Test
  void duplicatePiecesAreIgnoredAndNotHeld() {
    RequestContext a = TestFeatures.context("a", 0);
    offer(local(a, 0), 0);
    assertThat(offer(local(a, 0), 1)).isEqualTo(JoinBook.Status.DUPLICATE);
    assertThat(tracker.held(P0)).isEqualTo(1);
    assertThat(tracker.committable(P0)).isZero();
  }

  @Test
  void redeliveredLastPieceOfAnUnfinishedJoinIsReadyAgain() {
    RequestContext a = TestFeatures.context("a", 0);
    offer(global(a), 0);
    offer(local(a, 0), 1);
    assertThat(offer(local(a, 1), 2)).isEqualTo(JoinBook.Status.READY);
    // handed out once: while it is fused and published, a redelivered piece is a duplicate
    assertThat(offer(local(a, 1), 2)).isEqualTo(JoinBook.Status.DUPLICATE);
    // fusing failed transiently; the error handler redelivers offset 2
    book.undispatch("a");
    assertThat(offer(local(a, 1), 2)).isEqualTo(JoinBook.Status.READY);
  }

  @Test
  void finishedJoinReleasesItsRecordsAndIgnoresLateOnes() {
    RequestContext a = TestFeatures.context("a", 0);
    offer(global(a), 0);
    offer(local(a, 0), 1);
    offer(local(a, 1), 2);
    assertThat(tracker.committable(P0)).isZero();
    book.finish("a", NOW);
    assertThat(tracker.committable(P0)).isEqualTo(3);
    assertThat(offer(local(a, 1), 3)).isEqualTo(JoinBook.Status.FINISHED);
    assertThat(book.openJoins()).isZero();
  }

  @Test
  void interleavedRequestsHoldTheCommitPointAtTheOldestUnfinishedOne() {
    RequestContext a = TestFeatures.context("a", 0);
    RequestContext b = TestFeatures.context("b", 0);
    offer(global(a), 0);
    offer(global(b), 1);
    offer(local(b, 0), 2);
    assertThat(offer(local(b, 1), 3)).isEqualTo(JoinBook.Status.READY);
    book.finish("b", NOW);
    assertThat(tracker.committable(P0)).isZero(); // a still waits at offset 0
    offer(local(a, 0), 4);
    offer(local(a, 1), 5);
    book.finish("a", NOW);
    assertThat(tracker.committable(P0)).isEqualTo(6);
  }

  @Test
  void recordOfAnExpiredRequestIsReportedInsteadOfJoined() {
    RequestContext late = TestFeatures.context("late", NOW - 1);
    JoinBook.Offer offer = book.offer(global(late), P0, 0, NOW);
    assertThat(offer.status()).isEqualTo(JoinBook.Status.EXPIRED);
    assertThat(offer.context().getRequestId()).isEqualTo("late");
    assertThat(book.openJoins()).isZero();
  }

  @Test
  void sweepExpiresJoinsAtTheirDeadlineAndReleasesTheirRecords() {
    RequestContext a = TestFeatures.context("a", NOW + 100);
    offer(global(a), 0);
    assertThat(book.expire(NOW + 99)).isEmpty();
    List<FeatureJoin> expired = book.expire(NOW + 100);
    assertThat(expired).extracting(FeatureJoin::requestId).containsExactly("a");
    assertThat(tracker.committable(P0)).isEqualTo(1);
    assertThat(book.offer(local(a, 0), P0, 1, NOW + 101).status())
        .isEqualTo(JoinBook.Status.FINISHED);
  }

  @Test
  void joinWithoutDeadlineExpiresAfterTheJoinTimeout() {
    RequestContext a = TestFeatures.context("a", 0);
    offer(global(a), 0);
    assertThat(book.expire(NOW + 59_999)).isEmpty();
    assertThat(book.expire(NOW + 60_000)).hasSize(1);
  }

  @Test
  void newJoinsBeyondTheBoundAreRefusedWhileOpenOnesProceed() {
    RequestContext a = TestFeatures.context("a", 0);
    RequestContext b = TestFeatures.context("b", 0);
    RequestContext c = TestFeatures.context("c", 0);
    offer(global(a), 0);
    offer(global(b), 1);
    assertThat(offer(global(c), 2)).isEqualTo(JoinBook.Status.REFUSED);
    assertThat(offer(local(a, 0), 3)).isEqualTo(JoinBook.Status.WAITING);
    assertThat(book.openJoins()).isEqualTo(2);
  }

  @Test
  void droppedPartitionsForgetTheirJoinsSoAReplayRebuildsThem() {
    RequestContext a = TestFeatures.context("a", 0);
    RequestContext b = TestFeatures.context("b", 0);
    offer(global(a), 0);
    book.offer(global(b), P1, 0, NOW);
    assertThat(book.drop(List.of(P0))).extracting(FeatureJoin::requestId).containsExactly("a");
    assertThat(book.openJoins()).isEqualTo(1);
    assertThat(offer(global(a), 0)).isEqualTo(JoinBook.Status.WAITING);
  }

  @Test
  void malformedRecordIsAPermanentFailure() {
    TileFeatures bad =
        local(TestFeatures.context("a", 0), 0).toBuilder()
            .setFeaturesFp16(ByteString.copyFrom(new byte[6]))
            .build();
    assertThatThrownBy(() -> book.offer(bad, P0, 0, NOW))
        .isInstanceOfSatisfying(
            PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"));
    TileFeatures outOfGrid = local(TestFeatures.context("a", 0), 0).toBuilder().setIndex(2).build();
    assertThatThrownBy(() -> book.offer(outOfGrid, P0, 0, NOW))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("index 2");
  }

  @Test
  void aNoticeMustNameItsOwnPieceWithTheLengthItsShapeNeeds() {
    TileFeatures local = local(TestFeatures.context("n", 0), 1);
    TileFeatures notice =
        FeatureRecords.notice(local, FeatureRecords.ref(local, "ferret.features", 3, 70));
    assertThat(book.offer(notice, P0, 0, NOW).status()).isEqualTo(JoinBook.Status.WAITING);

    TileFeatures carrying = notice.toBuilder().setFeaturesFp16(local.getFeaturesFp16()).build();
    TileFeatures shortMaps = notice.toBuilder().setFeaturesBytes(10).build();
    TileFeatures otherPiece =
        notice.toBuilder().setStoredAt(notice.getStoredAt().toBuilder().setIndex(0)).build();
    TileFeatures nowhere =
        notice.toBuilder().setStoredAt(notice.getStoredAt().toBuilder().setTopic("")).build();
    for (TileFeatures bad : List.of(carrying, shortMaps, otherPiece, nowhere)) {
      assertThatThrownBy(() -> book.offer(bad, P0, 1, NOW))
          .isInstanceOfSatisfying(
              PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("invalid_features"));
    }
    assertThatThrownBy(() -> book.offer(shortMaps, P0, 1, NOW))
        .hasMessageContaining("the named features_fp16 has 10 bytes");
    assertThatThrownBy(() -> book.offer(otherPiece, P0, 1, NOW))
        .hasMessageContaining("names TILE_KIND_LOCAL 0 at ferret.features-3@70");
  }

  @Test
  void piecesThatDisagreeWithTheirRequestAreAPermanentFailure() {
    RequestContext a = TestFeatures.context("a", 0);
    offer(global(a), 0);
    TileFeatures otherChannels = TestFeatures.local(a, GRID_2X1, 0, 2, 3);
    assertThatThrownBy(() -> book.offer(otherChannels, P0, 1, NOW))
        .isInstanceOf(PermanentFailure.class)
        .hasMessageContaining("disagree");
  }

  @Test
  void aRevocationWaitsForTheFusedContextOnItsWayToTheBroker() throws Exception {
    RequestContext a = TestFeatures.context("a", 0);
    offer(global(a), 0);
    offer(local(a, 0), 1);
    assertThat(offer(local(a, 1), 2)).isEqualTo(JoinBook.Status.READY);

    // dispatched, not yet acknowledged: the partition may not be committed yet
    assertThat(book.awaitDispatched(java.util.List.of(P0), 50)).isFalse();
    Thread ack = new Thread(() -> book.finish("a", NOW));
    ack.start();
    assertThat(book.awaitDispatched(java.util.List.of(P0), 10_000)).isTrue();
    ack.join();
    assertThat(tracker.held(P0)).isZero();
  }
}

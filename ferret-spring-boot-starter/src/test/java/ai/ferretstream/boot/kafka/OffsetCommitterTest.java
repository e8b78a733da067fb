package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OffsetCommitterTest {

  @Test
  void carriesFinishedRequestIdsThroughTheCommitMetadata() {
    List<String> ids = List.of("chatcmpl-1", "odd,id with spaces", "é");

    String metadata = OffsetCommitter.metadata(ids);

    assertThat(metadata).startsWith(OffsetCommitter.FINISHED_PREFIX);
    assertThat(OffsetCommitter.finishedIds(metadata)).containsExactlyElementsOf(ids);
    assertThat(OffsetCommitter.metadata(List.of())).isEmpty();
    assertThat(OffsetCommitter.finishedIds("")).isEmpty();
    assertThat(OffsetCommitter.finishedIds("someone else's metadata")).isEmpty();
  }

  @Test
  void keepsTheNewestIdsWithinKafkasMetadataLimit() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      ids.add("request-" + i + "-0123456789");
    }

    String metadata = OffsetCommitter.metadata(ids);

    assertThat(metadata.length()).isLessThanOrEqualTo(OffsetCommitter.METADATA_LIMIT);
    List<String> kept = OffsetCommitter.finishedIds(metadata);
    assertThat(kept).isNotEmpty().endsWith("request-499-0123456789");
    assertThat(ids).endsWith(kept.toArray(String[]::new));
  }

  @Test
  void theTrackerNamesFinishedRequestsUntilTheCommitPassesThem() {
    OffsetTracker tracker = new OffsetTracker();
    SourcePartition p = new SourcePartition("t", 0);
    tracker.hold(p, 10);
    tracker.hold(p, 11);
    tracker.release(p, 11);
    tracker.finished(p, "done", 11);

    assertThat(tracker.committable(p)).isEqualTo(10);
    assertThat(tracker.finishedFrom(p, 10)).containsExactly("done");

    tracker.release(p, 10);
    tracker.finished(p, "other", 10);
    assertThat(tracker.finishedFrom(p, 12)).isEmpty();
  }

  @Test
  void commitsAtMostOncePerIntervalButAlwaysOnRequest() throws Exception {
    org.apache.kafka.clients.consumer.MockConsumer<String, String> consumer =
        new org.apache.kafka.clients.consumer.MockConsumer<>("earliest");
    org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition("t", 0);
    consumer.assign(List.of(tp));
    OffsetTracker tracker = new OffsetTracker();
    SourcePartition p = new SourcePartition("t", 0);
    OffsetCommitter committer = new OffsetCommitter(tracker, java.time.Duration.ofMillis(300));

    tracker.seen(p, 0);
    committer.commit(consumer);
    assertThat(consumer.committed(java.util.Set.of(tp)).get(tp).offset()).isEqualTo(1);
    tracker.seen(p, 1);
    committer.commit(consumer); // within the interval: skipped
    assertThat(consumer.committed(java.util.Set.of(tp)).get(tp).offset()).isEqualTo(1);
    committer.commit(consumer, List.of(tp)); // a revocation commits at once
    assertThat(consumer.committed(java.util.Set.of(tp)).get(tp).offset()).isEqualTo(2);
    tracker.seen(p, 2);
    Thread.sleep(350);
    committer.commit(consumer);
    assertThat(consumer.committed(java.util.Set.of(tp)).get(tp).offset()).isEqualTo(3);
  }
}

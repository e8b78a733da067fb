package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.proto.failure.TransientFailure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;

class AcknowledgedSendsTest {

  private static final SourcePartition P0 = new SourcePartition("in", 0);

  @SuppressWarnings("unchecked")
  private final KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);

  private final OffsetTracker tracker = new OffsetTracker();
  private final List<CompletableFuture<SendResult<String, Object>>> acks = new ArrayList<>();

  private AcknowledgedSends sends(int window) {
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              CompletableFuture<SendResult<String, Object>> ack = new CompletableFuture<>();
              acks.add(ack);
              return ack;
            });
    return new AcknowledgedSends(
        new DurablePublisher(kafka, Duration.ofSeconds(1)),
        tracker,
        window,
        Duration.ofMillis(200));
  }

  private static List<ProducerRecord<String, Object>> outputs(int n) {
    List<ProducerRecord<String, Object>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new ProducerRecord<>("out", "k", "v" + i));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static SendResult<String, Object> ok() {
    return mock(SendResult.class);
  }

  @Test
  void holdsTheInputUntilEveryOutputIsAcknowledged() {
    AcknowledgedSends sends = sends(4);
    tracker.seen(P0, 0);
    sends.send(P0, 0, outputs(3), failure -> {});

    assertThat(tracker.committable(P0)).isZero();
    acks.get(0).complete(ok());
    acks.get(1).complete(ok());
    assertThat(tracker.committable(P0)).isZero();
    acks.get(2).complete(ok());
    assertThat(tracker.committable(P0)).isEqualTo(1);
  }

  @Test
  void reportsAFailedSendAndThenReleasesTheInput() {
    AcknowledgedSends sends = sends(4);
    List<Throwable> failures = new ArrayList<>();
    tracker.seen(P0, 0);
    sends.send(P0, 0, outputs(2), failures::add);

    acks.get(0).complete(ok());
    acks.get(1).completeExceptionally(new IllegalStateException("broker down"));

    assertThat(failures).hasSize(1);
    assertThat(failures.get(0)).hasRootCauseMessage("broker down");
    assertThat(tracker.held(P0)).isZero();
  }

  @Test
  void refusesToSendBeyondTheWindowUntilAnInputIsAcknowledged() {
    AcknowledgedSends sends = sends(1);
    sends.send(P0, 0, outputs(1), failure -> {});

    assertThatThrownBy(() -> sends.send(P0, 1, outputs(1), failure -> {}))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("not sending more");
    assertThat(tracker.held(P0)).isEqualTo(1);

    acks.get(0).complete(ok());
    sends.send(P0, 1, outputs(1), failure -> {});
    assertThat(acks).hasSize(2);
  }
}

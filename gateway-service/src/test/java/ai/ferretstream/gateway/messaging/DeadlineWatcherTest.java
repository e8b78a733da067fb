package ai.ferretstream.gateway.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Cancel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;

class DeadlineWatcherTest {

  @Test
  void failsExpiredRequestsWithDeadlineExceededAndCancelsThemDownstream() {
    List<ProducerRecord<String, Object>> sent = new ArrayList<>();
    @SuppressWarnings("unchecked")
    KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            invocation -> {
              sent.add(invocation.getArgument(0));
              return CompletableFuture.completedFuture(null);
            });
    PendingRequests pending = new PendingRequests(4, "gateway-service");
    List<AnswerEvent> ends = new ArrayList<>();
    AnswerSink sink =
        new AnswerSink() {
          @Override
          public void event(AnswerEvent event) {}

          @Override
          public void end(AnswerEvent event) {
            ends.add(event);
          }
        };
    pending.register("old", 0, 62_000, sink);
    pending.register("young", 0, 90_000, sink);
    Clock clock = Clock.fixed(Instant.ofEpochMilli(62_000), ZoneOffset.UTC);
    DeadlineWatcher watcher =
        new DeadlineWatcher(
            pending,
            new RequestPublisher(
                kafka, TopicCatalog.defaults(), Duration.ofSeconds(1), "gateway-service"),
            clock,
            Duration.ofMillis(100));

    assertThat(watcher.sweep()).containsExactly("old");

    assertThat(ends)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getRequestId()).isEqualTo("old");
              assertThat(e.getError().getCode()).isEqualTo("deadline_exceeded");
            });
    assertThat(sent)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.topic()).isEqualTo("ferret.control");
              assertThat(((Cancel) r.value()).getRequestId()).isEqualTo("old");
            });
    assertThat(pending.isPending("young")).isTrue();
  }
}

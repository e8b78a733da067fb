package ai.ferretstream.gateway.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.proto.v1.AnswerEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class ReplyPartitionsTest {

  private final PendingRequests pending = new PendingRequests(8, "gateway-service");
  private final ReplyPartitions partitions = new ReplyPartitions("ferret.answers", pending);
  private final Consumer<?, ?> consumer = mock(Consumer.class);

  private static TopicPartition answers(int p) {
    return new TopicPartition("ferret.answers", p);
  }

  @Test
  void hasNoPartitionBeforeTheFirstAssignment() {
    assertThat(partitions.next()).isEmpty();
    assertThat(partitions.owned()).isEmpty();
  }

  @Test
  void spreadsRequestsRoundRobinOverTheOwnedPartitions() {
    partitions.onPartitionsAssigned(consumer, List.of(answers(3), answers(1)));

    List<Integer> picked =
        IntStream.range(0, 4).map(i -> partitions.next().getAsInt()).boxed().toList();

    assertThat(picked).containsExactly(1, 3, 1, 3);
    assertThat(partitions.owned()).containsExactly(1, 3);
  }

  @Test
  void resolvesTheStartPositionOfAssignedPartitionsAtOnce() {
    partitions.onPartitionsAssigned(consumer, List.of(answers(2)));

    verify(consumer).position(answers(2));
  }

  @Test
  void failsTheRequestsOfARevokedPartitionAndStopsUsingIt() {
    partitions.onPartitionsAssigned(consumer, List.of(answers(0), answers(1)));
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
    pending.register("on-0", 0, Long.MAX_VALUE, sink);
    pending.register("on-1", 1, Long.MAX_VALUE, sink);

    partitions.onPartitionsRevokedBeforeCommit(consumer, List.of(answers(1)));

    assertThat(ends)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getRequestId()).isEqualTo("on-1");
              assertThat(e.getError().getCode()).isEqualTo("reply_partition_revoked");
              assertThat(e.getError().getRetryable()).isTrue();
            });
    assertThat(pending.isPending("on-0")).isTrue();
    assertThat(partitions.owned()).containsExactly(0);
    assertThat(partitions.next()).hasValue(0);

    partitions.onPartitionsLost(consumer, List.of(answers(0)));
    assertThat(partitions.next()).isEmpty();
    assertThat(pending.isPending("on-0")).isFalse();
  }

  @Test
  void ignoresPartitionsOfOtherTopics() {
    partitions.onPartitionsAssigned(consumer, List.of(new TopicPartition("other", 5)));

    assertThat(partitions.owned()).isEmpty();
  }
}

package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.support.SendResult;

/** What a stage's recoverer tells the client whose request it gives up on. */
class FerretKafkaRecovererTest {

  private final TopicCatalog catalog = TopicCatalog.defaults();

  @SuppressWarnings("unchecked")
  private final KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);

  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();

  private void give(ConsumerRecord<String, Object> record) {
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              sent.add(call.getArgument(0));
              return CompletableFuture.completedFuture(
                  new SendResult<String, Object>(call.getArgument(0), null));
            });
    Node node = new Node(0, "localhost", 9092);
    List<PartitionInfo> partitions = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      partitions.add(new PartitionInfo(catalog.answers(), p, node, null, null));
    }
    when(kafka.partitionsFor(catalog.answers())).thenReturn(partitions);
    FerretKafka.recoverer(kafka, catalog, "tiler-service")
        .accept(record, new PermanentFailure("invalid_request", "no context.request_id"));
  }

  @Test
  void aRequestWithoutItsIdIsAnsweredUnderItsKey() {
    AskRequest request =
        AskRequest.newBuilder()
            .setContext(
                RequestContext.newBuilder()
                    .setReplyTo(ReplyTo.newBuilder().setTopic(catalog.answers()).setPartition(2)))
            .build();

    give(new ConsumerRecord<>(catalog.requests(), 0, 7L, "client-key-1", request));

    ProducerRecord<String, Object> error =
        sent.stream().filter(r -> r.topic().equals(catalog.answers())).findFirst().orElseThrow();
    assertThat(error.key()).isEqualTo("client-key-1");
    assertThat(error.partition()).isEqualTo(2);
    AnswerEvent event = (AnswerEvent) error.value();
    assertThat(event.getRequestId()).isEqualTo("client-key-1");
    assertThat(event.getError().getCode()).isEqualTo("invalid_request");
    assertThat(sent).anyMatch(r -> r.topic().equals(TopicCatalog.deadLetterOf(catalog.requests())));
  }
}

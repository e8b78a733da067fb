package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import com.google.protobuf.MessageLite;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * Reading records back by location from a real broker: gaps between wanted records, two partitions
 * at once, the same reader again and again (it keeps its partitions assigned and paused between
 * fetches), a location that does not exist, and a good read after it.
 */
class RecordFetcherIT {

  private static final String TOPIC = "fetch.ferret.features";

  private static EmbeddedKafkaBroker broker;
  // per partition, the location of the record of request "p<partition>-<i>"
  private static final List<List<RecordFetcher.Location>> at =
      List.of(new ArrayList<>(), new ArrayList<>());

  @BeforeAll
  static void publish() throws Exception {
    broker = new EmbeddedKafkaKraftBroker(1, 2, TOPIC);
    broker.afterPropertiesSet();
    try (KafkaProducer<String, Object> producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()),
            new StringSerializer(),
            new ProtobufSerializer())) {
      for (int i = 0; i < 6; i++) {
        for (int partition = 0; partition < 2; partition++) {
          String id = "p" + partition + "-" + i;
          RecordMetadata sent =
              producer.send(new ProducerRecord<>(TOPIC, partition, id, features(id, i))).get();
          at.get(partition).add(new RecordFetcher.Location(TOPIC, sent.partition(), sent.offset()));
        }
      }
    }
  }

  @AfterAll
  static void stop() {
    broker.destroy();
  }

  private static TileFeatures features(String id, int index) {
    return TileFeatures.newBuilder()
        .setContext(RequestContext.newBuilder().setRequestId(id))
        .setIndex(index)
        .build();
  }

  private static RecordFetcher fetcher() {
    return new RecordFetcher(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.getBrokersAsString()),
        "fetch-it",
        1,
        Duration.ofSeconds(20),
        "features");
  }

  private static List<String> ids(List<MessageLite> values) {
    return values.stream().map(v -> ((TileFeatures) v).getContext().getRequestId()).toList();
  }

  @Test
  void readsTheNamedRecordsInTheOrderAskedAcrossPartitionsAndGaps() throws Exception {
    try (RecordFetcher fetcher = fetcher()) {
      assertThat(ids(fetcher.fetch(List.of(at.get(0).get(4), at.get(1).get(0), at.get(0).get(1)))))
          .containsExactly("p0-4", "p1-0", "p0-1");
      // the same reader, other offsets of the same and of one partition, going backwards
      assertThat(ids(fetcher.fetch(List.of(at.get(1).get(5), at.get(1).get(2)))))
          .containsExactly("p1-5", "p1-2");
      assertThat(ids(fetcher.fetch(List.of(at.get(0).get(3), at.get(0).get(3)))))
          .containsExactly("p0-3", "p0-3");
    }
  }

  @Test
  void aLocationThatDoesNotExistIsAPermanentFailureAndTheReaderStaysUsable() throws Exception {
    try (RecordFetcher fetcher = fetcher()) {
      RecordFetcher.Location beyond = new RecordFetcher.Location(TOPIC, 1, 1_000);
      assertThatThrownBy(() -> fetcher.fetch(List.of(at.get(0).get(0), beyond)))
          .isInstanceOfSatisfying(
              PermanentFailure.class, e -> assertThat(e.code()).isEqualTo("features_expired"));
      assertThat(ids(fetcher.fetch(List.of(at.get(1).get(3), at.get(0).get(2)))))
          .containsExactly("p1-3", "p0-2");
    }
  }
}

package ai.ferretstream.examples.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.TextDelta;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

/** The example's request, record, key partition, region syntax and JSON lines, without a broker. */
class KafkaAskTest {

  private static final KafkaAsk.Question QUESTION =
      new KafkaAsk.Question(
          new byte[] {1, 2, 3},
          "image/png",
          "What is in <region_fea>?",
          List.of(),
          Duration.ofSeconds(30),
          2,
          "ferret-v2-dev",
          64,
          false);

  @Test
  void theRequestCarriesIdDeadlineReplyPartitionAndRegions() {
    AskRequest request =
        KafkaAsk.request(QUESTION.withRegion(KafkaAsk.region("[10, 20, 30, 40]")), "r-1", 1_000);

    assertThat(request.getContext().getRequestId()).isEqualTo("r-1");
    assertThat(request.getContext().getCreatedUnixMs()).isEqualTo(1_000);
    assertThat(request.getContext().getDeadlineUnixMs()).isEqualTo(31_000);
    assertThat(request.getContext().getReplyTo().getTopic()).isEmpty();
    assertThat(request.getContext().getReplyTo().getPartition()).isEqualTo(2);
    assertThat(request.getContext().getRegions(0).getSpace())
        .isEqualTo(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999);
    assertThat(request.getContext().getRegions(0).getBox().getX2()).isEqualTo(30);
    assertThat(request.getContext().getOptions().getMaxTokens()).isEqualTo(64);
    assertThat(request.getImage().toByteArray()).containsExactly(1, 2, 3);
  }

  @Test
  void theRecordIsKeyedByRequestIdWithThePipelineHeaders() {
    try (KafkaAsk kafka = new KafkaAsk("localhost:1")) {
      ProducerRecord<String, byte[]> record =
          kafka.record(KafkaAsk.request(QUESTION, "r-2", 5_000));

      assertThat(record.topic()).isEqualTo("ferret.requests");
      assertThat(record.key()).isEqualTo("r-2");
      assertThat(record.partition()).isNull();
      assertThat(FerretHeaders.get(record.headers(), FerretHeaders.REQUEST_ID)).isEqualTo("r-2");
      assertThat(FerretHeaders.get(record.headers(), FerretHeaders.DEADLINE)).isEqualTo("35000");
      assertThat(FerretHeaders.get(record.headers(), FerretHeaders.REPLY_PARTITION)).isEqualTo("2");
      assertThat(FerretHeaders.get(record.headers(), FerretHeaders.VALUE_TYPE))
          .isEqualTo("ferret.v1.AskRequest");
    }
  }

  @Test
  void theKeyPartitionIsTheOneKafkasProducerPicks() {
    for (int partitions : new int[] {1, 4, 7}) {
      for (int i = 0; i < 50; i++) {
        String id = "kafka-" + i;
        assertThat(KafkaAsk.keyPartition(id, partitions))
            .as(id)
            .isEqualTo(
                BuiltInPartitioner.partitionForKey(
                    id.getBytes(StandardCharsets.UTF_8), partitions));
      }
    }
  }

  @Test
  void aRegionIsFourNumbersOnTheGrid() {
    assertThat(KafkaAsk.region("1,2,3,4").getBox().getY2()).isEqualTo(4);
    assertThatThrownBy(() -> KafkaAsk.region("1,2,3"))
        .hasMessageContaining("x1,y1,x2,y2 on the 0..999 grid");
    assertThatThrownBy(() -> KafkaAsk.region("1,2,3,1000")).hasMessageContaining("0..999 grid");
    assertThatThrownBy(() -> KafkaAsk.region("a,2,3,4")).hasMessageContaining("'a,2,3,4'");
  }

  @Test
  void theCommandLineNeedsAnImageAndAQuestion() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertThat(KafkaAsk.run(new String[] {"what?"}, System.out, errStream)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("an --image and a question");
    assertThat(KafkaAsk.run(new String[] {"--timeout", "soon"}, System.out, errStream))
        .isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--timeout takes a whole number, was soon");
  }

  @Test
  void theFormatterPrintsAnswerEventsAndRequestsWithoutTheImageAsJsonLines() {
    ProtobufJsonFormatter formatter = new ProtobufJsonFormatter();
    formatter.configure(Map.of());
    AnswerEvent delta =
        AnswerEvent.newBuilder()
            .setRequestId("r-3")
            .setSeq(0)
            .setDelta(TextDelta.newBuilder().setText("It is \"blue\"."))
            .build();
    assertThat(formatter.line(record("ferret.answers", delta.toByteArray())))
        .isEqualTo(
            "{\"requestId\":\"r-3\",\"seq\":\"0\",\"createdUnixMs\":\"0\",\"delta\":{\"text\":\"It is \\\"blue\\\".\"}}");
    assertThat(
            formatter.line(
                record("ferret.requests", KafkaAsk.request(QUESTION, "r-4", 0).toByteArray())))
        .contains("\"requestId\":\"r-4\"", "\"image\":\"\"", "\"imageBytes\":3");
    ConsumerRecord<byte[], byte[]> dead = record("ferret.requests.dlt", new byte[] {(byte) 0xff});
    dead.headers().add(FerretHeaders.ERROR_SERVICE, "tiler-service".getBytes());
    dead.headers().add(FerretHeaders.ERROR_REASON, "not \"protobuf\"".getBytes());
    assertThat(formatter.line(dead))
        .startsWith(
            "{\"ferretErrorService\":\"tiler-service\",\"ferretErrorReason\":\"not \\\"protobuf\\\"\","
                + "\"record\":{\"undecodable\":");
  }

  @Test
  void theReaderTurnsJsonLinesIntoRequestsAndCancelsWithKeyAndHeaders() {
    ProtobufJsonReader reader = new ProtobufJsonReader(() -> 1_000);
    reader.configure(Map.of("topic", "ferret.requests"));
    String lines =
        "{\"context\":{\"requestId\":\"c-1\",\"prompt\":\"What?\","
            + "\"replyTo\":{\"partition\":1}},\"image\":\"AQID\"}\n\n"
            + "{\"context\":{\"requestId\":\"c-2\",\"deadlineUnixMs\":\"5000\"}}\n";
    var records =
        reader.readRecords(
            new java.io.ByteArrayInputStream(lines.getBytes(StandardCharsets.UTF_8)));

    ProducerRecord<byte[], byte[]> first = records.next();
    assertThat(new String(first.key(), StandardCharsets.UTF_8)).isEqualTo("c-1");
    assertThat(first.topic()).isEqualTo("ferret.requests");
    AskRequest request = parse(first.value());
    assertThat(request.getImage().toByteArray()).containsExactly(1, 2, 3);
    assertThat(request.getContext().getCreatedUnixMs()).isEqualTo(1_000);
    assertThat(request.getContext().getDeadlineUnixMs()).isEqualTo(61_000);
    assertThat(FerretHeaders.get(first.headers(), FerretHeaders.REPLY_PARTITION)).isEqualTo("1");
    assertThat(FerretHeaders.get(first.headers(), FerretHeaders.DEADLINE)).isEqualTo("61000");
    assertThat(parse(records.next().value()).getContext().getDeadlineUnixMs()).isEqualTo(5_000);
    assertThat(records.hasNext()).isFalse();

    reader.configure(Map.of("topic", "ferret.control"));
    ProducerRecord<byte[], byte[]> cancel =
        reader.readRecords(input("{\"requestId\":\"c-1\",\"reason\":\"enough\"}")).next();
    assertThat(new String(cancel.key(), StandardCharsets.UTF_8)).isEqualTo("c-1");
    assertThat(FerretHeaders.get(cancel.headers(), FerretHeaders.VALUE_TYPE))
        .isEqualTo("ferret.v1.Cancel");
  }

  @Test
  void theReaderRefusesOtherTopicsLinesThatAreNotTheMessageAndMissingIds() {
    ProtobufJsonReader reader = new ProtobufJsonReader(() -> 0);
    reader.configure(Map.of("topic", "ferret.answers"));
    assertThatThrownBy(() -> reader.readRecords(input("{}")).next())
        .hasMessageContaining("line 1: ProtobufJsonReader writes AskRequests to ferret.requests");
    reader.configure(Map.of("topic", "ferret.requests"));
    assertThatThrownBy(() -> reader.readRecords(input("hello")).next())
        .hasMessageContaining("line 1: not a ferret.v1.AskRequest in JSON");
    assertThatThrownBy(() -> reader.readRecords(input("{\"context\":{}}")).next())
        .hasMessageContaining("an AskRequest needs context.requestId");
  }

  private static java.io.InputStream input(String text) {
    return new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  private static AskRequest parse(byte[] value) {
    try {
      return AskRequest.parseFrom(value);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static ConsumerRecord<byte[], byte[]> record(String topic, byte[] value) {
    return new ConsumerRecord<>(topic, 0, 0, "k".getBytes(), value);
  }
}

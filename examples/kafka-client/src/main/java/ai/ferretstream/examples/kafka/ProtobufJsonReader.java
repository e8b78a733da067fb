package ai.ferretstream.examples.kafka;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.tools.api.RecordReader;

/**
 * Lets Kafka's console producer publish Ferret records: each line of its input is one {@code
 * AskRequest} (topic {@code ferret.requests}) or {@code Cancel} (topic {@code ferret.control}) in
 * protobuf's JSON mapping, published as the binary encoding, keyed by the request id, with the
 * pipeline's headers. {@code kafka-console-producer.sh --topic ferret.requests --reader
 * ai.ferretstream.examples.kafka.ProtobufJsonReader} with this jar, the proto jar and
 * protobuf-java(-util) on {@code CLASSPATH}. The image is the {@code "image"} field, base64. A
 * request without {@code createdUnixMs} or {@code deadlineUnixMs} gets now and now + 60 s (the
 * gateway's default). The reader property {@code prefix} names a topic prefix.
 */
public final class ProtobufJsonReader implements RecordReader {

  private static final JsonFormat.Parser PARSER = JsonFormat.parser();

  private final LongSupplier clock;
  private TopicCatalog topics = TopicCatalog.defaults();
  private String topic;

  public ProtobufJsonReader() {
    this(System::currentTimeMillis);
  }

  ProtobufJsonReader(LongSupplier clock) {
    this.clock = clock;
  }

  @Override
  public void configure(Map<String, ?> configs) {
    Object prefix = configs.get("prefix");
    if (prefix != null) {
      topics = new TopicCatalog(prefix.toString());
    }
    Object name = configs.get("topic");
    topic = name == null ? null : name.toString();
  }

  @Override
  public Iterator<ProducerRecord<byte[], byte[]>> readRecords(InputStream input) {
    BufferedReader lines = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8));
    return new Iterator<>() {
      private String next = advance();
      private int number = next == null ? 0 : 1;

      private String advance() {
        try {
          String line;
          do {
            line = lines.readLine();
          } while (line != null && line.isBlank());
          return line;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ProducerRecord<byte[], byte[]> next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        String line = next;
        int at = number;
        next = advance();
        number++;
        try {
          return record(line);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("line " + at + ": " + e.getMessage(), e);
        }
      }
    };
  }

  /** The record of one JSON line. */
  ProducerRecord<byte[], byte[]> record(String json) {
    Topic entry =
        topic == null
            ? null
            : topics.lookup(topic).filter(t -> topic.equals(topics.name(t))).orElse(null);
    if (entry == Topic.REQUESTS) {
      return request(json);
    }
    if (entry == Topic.CONTROL) {
      return cancel(json);
    }
    throw new IllegalArgumentException(
        "ProtobufJsonReader writes AskRequests to "
            + topics.requests()
            + " and Cancels to "
            + topics.control()
            + ", not to "
            + topic);
  }

  private ProducerRecord<byte[], byte[]> request(String json) {
    AskRequest.Builder request = AskRequest.newBuilder();
    merge(json, request);
    RequestContext.Builder context = request.getContextBuilder();
    if (context.getRequestId().isEmpty()) {
      throw new IllegalArgumentException("an AskRequest needs context.requestId");
    }
    long now = clock.getAsLong();
    if (context.getCreatedUnixMs() == 0) {
      context.setCreatedUnixMs(now);
    }
    if (context.getDeadlineUnixMs() == 0) {
      context.setDeadlineUnixMs(now + KafkaAsk.DEFAULT_TIMEOUT.toMillis());
    }
    AskRequest built = request.build();
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(topic, key(context.getRequestId()), built.toByteArray());
    FerretHeaders.stamp(
        record.headers(), built.getContext(), "ferret.v1.AskRequest", KafkaAsk.PRODUCER);
    return record;
  }

  private ProducerRecord<byte[], byte[]> cancel(String json) {
    Cancel.Builder cancel = Cancel.newBuilder();
    merge(json, cancel);
    if (cancel.getRequestId().isEmpty()) {
      throw new IllegalArgumentException("a Cancel needs requestId");
    }
    if (cancel.getCreatedUnixMs() == 0) {
      cancel.setCreatedUnixMs(clock.getAsLong());
    }
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(topic, key(cancel.getRequestId()), cancel.build().toByteArray());
    KafkaAsk.cancelHeaders(record.headers(), cancel.getRequestId());
    return record;
  }

  private static void merge(String json, com.google.protobuf.Message.Builder builder) {
    try {
      PARSER.merge(json, builder);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          "not a " + builder.getDescriptorForType().getFullName() + " in JSON: " + e.getMessage(),
          e);
    }
  }

  private static byte[] key(String requestId) {
    return requestId.getBytes(StandardCharsets.UTF_8);
  }
}

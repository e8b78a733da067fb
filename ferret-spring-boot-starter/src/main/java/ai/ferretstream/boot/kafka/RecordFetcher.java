package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.CatalogDeserializer;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.TileFeatures;
import com.google.protobuf.MessageLite;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads records back from Kafka by their location (topic, partition, offset): the read side of a
 * claim check, where a small record names large records published earlier instead of carrying them
 * again. Kafka is the store; nothing is copied into a second system.
 *
 * <p>A pool of consumers without a group ({@code assign} and {@code seek}, nothing committed), each
 * used by one fetch at a time. A consumer fetches one record batch per partition request ({@code
 * max.partition.fetch.bytes} = 1: the broker always returns at least the first batch), so reading a
 * few multi-MB records among other requests' records reads little else; consecutive wanted offsets
 * are read in one go, gaps are skipped with a seek. A consumer keeps the partitions it has read
 * assigned, paused between fetches: assigning anew would cost a metadata round trip per fetch.
 *
 * <p>A location that no longer exists (deleted by retention) or never existed is a {@link
 * PermanentFailure} {@code {code}_expired}; a broker that does not answer in time is a {@link
 * TransientFailure}.
 */
public final class RecordFetcher implements AutoCloseable {

  /** Where one record lies. */
  public record Location(String topic, int partition, long offset) {
    TopicPartition topicPartition() {
      return new TopicPartition(topic, partition);
    }
  }

  private final BlockingQueue<KafkaConsumer<String, MessageLite>> idle;
  private final List<KafkaConsumer<String, MessageLite>> all = new ArrayList<>();
  private final Duration timeout;
  private final String failureCode;

  /**
   * @param consumerProperties the service's consumer properties (bootstrap servers, security); the
   *     group, commit, reset and fetch-size settings are replaced
   * @param consumers how many fetches may run at once
   * @param timeout longest one fetch may take
   * @param failureCode prefix of the failure code of a missing record ({@code <code>_expired})
   */
  public RecordFetcher(
      Map<String, Object> consumerProperties,
      String clientId,
      int consumers,
      Duration timeout,
      String failureCode) {
    this(consumerProperties, clientId, consumers, timeout, failureCode, 1);
  }

  /**
   * @param fetchBytes {@code max.partition.fetch.bytes} of the readers: 1 reads one record batch
   *     per request to the broker (least read beside the wanted records); more reads neighbouring
   *     records in one round trip (fewer round trips when the wanted records are adjacent)
   */
  public RecordFetcher(
      Map<String, Object> consumerProperties,
      String clientId,
      int consumers,
      Duration timeout,
      String failureCode,
      int fetchBytes) {
    if (consumers < 1) {
      throw new IllegalArgumentException("consumers must be positive");
    }
    this.timeout = timeout;
    this.failureCode = failureCode;
    this.idle = new ArrayBlockingQueue<>(consumers);
    for (int i = 0; i < consumers; i++) {
      Map<String, Object> props = new HashMap<>(consumerProperties);
      props.remove(ConsumerConfig.GROUP_ID_CONFIG);
      props.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
      props.remove(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG);
      props.remove(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-" + i);
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      // a location that is gone must fail, never silently read something else
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
      props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, fetchBytes);
      props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, KafkaLimits.MAX_RECORD_BYTES);
      props.putIfAbsent(ConsumerConfig.RECEIVE_BUFFER_CONFIG, -1);
      // a named record exists (its location was published after the broker acknowledged it): a
      // reader never needs to wait for new data. The consumer sends its next fetch as soon as a
      // poll returns records; at the end of the log, waiting would park that fetch at the broker
      // until the next record arrives, which is then read and sent to a reader that discards it
      props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 0);
      KafkaConsumer<String, MessageLite> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new CatalogDeserializer());
      all.add(consumer);
      idle.add(consumer);
    }
  }

  /**
   * Readers of a service's {@code ferret.features} records by location (the claim checks of ADR
   * 0008 and 0009): client ids {@code <service>-feature-reader-<n>}, failure codes {@code
   * features_expired} and {@code features_invalid}.
   *
   * @param consumerProperties the service's consumer properties
   * @param service the service's name
   * @param readers how many reads may run at once
   * @param timeout longest one read may take
   * @param fetchBytes the readers' {@code max.partition.fetch.bytes}
   */
  public static RecordFetcher forFeatures(
      Map<String, Object> consumerProperties,
      String service,
      int readers,
      Duration timeout,
      int fetchBytes) {
    return new RecordFetcher(
        consumerProperties, service + "-feature-reader", readers, timeout, "features", fetchBytes);
  }

  /**
   * The feature records {@code refs} name, in the same order, each checked to be the piece its
   * reference names of request {@code requestId} ({@link FeatureRecords#named}).
   *
   * @throws PermanentFailure {@code invalid_features} for a record that is not the named piece,
   *     {@code <code>_expired} for one no longer in Kafka
   * @throws TransientFailure when the records could not be read in time
   */
  public List<TileFeatures> readFeatures(String requestId, List<FeatureRef> refs)
      throws InterruptedException {
    List<Location> locations = new ArrayList<>(refs.size());
    for (FeatureRef r : refs) {
      locations.add(new Location(r.getTopic(), r.getPartition(), r.getOffset()));
    }
    List<MessageLite> values = fetch(locations);
    List<TileFeatures> records = new ArrayList<>(refs.size());
    for (int i = 0; i < refs.size(); i++) {
      records.add(FeatureRecords.named(values.get(i), refs.get(i), requestId));
    }
    return records;
  }

  /**
   * The values at {@code locations}, in the same order.
   *
   * @throws PermanentFailure when a location holds no record
   * @throws TransientFailure when the records could not be read in time
   */
  public List<MessageLite> fetch(List<Location> locations) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    KafkaConsumer<String, MessageLite> consumer =
        idle.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (consumer == null) {
      throw new TransientFailure("no Kafka reader was free within " + timeout);
    }
    try {
      return read(consumer, locations, deadline);
    } catch (RecordDeserializationException e) {
      throw new PermanentFailure(
          failureCode + "_invalid",
          "a record of " + locations + " is unreadable: " + e.getMessage());
    } catch (OffsetOutOfRangeException e) {
      throw new PermanentFailure(
          failureCode + "_expired",
          "records " + locations + " are no longer in Kafka (retention): " + e.getMessage());
    } catch (KafkaException e) {
      throw new TransientFailure("reading " + locations + " from Kafka failed: " + e, e);
    } finally {
      idle.add(consumer);
    }
  }

  private List<MessageLite> read(
      KafkaConsumer<String, MessageLite> consumer, List<Location> locations, long deadline) {
    // per partition, the wanted offsets in order and where each goes in the answer
    Map<TopicPartition, TreeMap<Long, List<Integer>>> wanted = new HashMap<>();
    for (int i = 0; i < locations.size(); i++) {
      Location l = locations.get(i);
      wanted
          .computeIfAbsent(l.topicPartition(), tp -> new TreeMap<>())
          .computeIfAbsent(l.offset(), o -> new ArrayList<>(1))
          .add(i);
    }
    MessageLite[] values = new MessageLite[locations.size()];
    Set<TopicPartition> reading = new HashSet<>(wanted.keySet());
    try {
      prepare(consumer, wanted);
      collect(consumer, wanted, values, locations, deadline);
    } finally {
      // a reader between fetches fetches nothing
      reading.retainAll(consumer.assignment());
      consumer.pause(reading);
    }
    return List.of(values);
  }

  /**
   * Assigns the wanted partitions (once: a consumer keeps every partition it has read, paused
   * between fetches, because changing the assignment costs a metadata round trip to the broker on
   * the next poll), resumes them and seeks each to its first wanted offset.
   */
  private static void prepare(
      KafkaConsumer<String, MessageLite> consumer,
      Map<TopicPartition, TreeMap<Long, List<Integer>>> wanted) {
    Set<TopicPartition> assigned = consumer.assignment();
    if (!assigned.containsAll(wanted.keySet())) {
      Set<TopicPartition> all = new HashSet<>(assigned);
      all.addAll(wanted.keySet());
      consumer.assign(all);
      consumer.pause(all);
    }
    consumer.resume(wanted.keySet());
    wanted.forEach((tp, offsets) -> consumer.seek(tp, offsets.firstKey()));
  }

  private void collect(
      KafkaConsumer<String, MessageLite> consumer,
      Map<TopicPartition, TreeMap<Long, List<Integer>>> wanted,
      MessageLite[] values,
      List<Location> locations,
      long deadline) {
    while (!wanted.isEmpty()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new TransientFailure(
            "records " + locations + " could not be read from Kafka within " + timeout);
      }
      ConsumerRecords<String, MessageLite> records = consumer.poll(Duration.ofNanos(left));
      for (ConsumerRecord<String, MessageLite> r : records) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        TreeMap<Long, List<Integer>> offsets = wanted.get(tp);
        if (offsets == null) {
          continue;
        }
        List<Integer> slots = offsets.remove(r.offset());
        if (slots != null && r.value() == null) {
          throw new PermanentFailure(
              failureCode + "_expired", "the record at " + tp + "@" + r.offset() + " is empty");
        }
        if (slots != null) {
          for (int slot : slots) {
            values[slot] = r.value();
          }
        }
      }
      List<TopicPartition> done = new ArrayList<>();
      for (Map.Entry<TopicPartition, TreeMap<Long, List<Integer>>> e : wanted.entrySet()) {
        TopicPartition tp = e.getKey();
        if (e.getValue().isEmpty()) {
          done.add(tp);
          continue;
        }
        long next = e.getValue().firstKey();
        long position = consumer.position(tp);
        if (position > next) {
          throw new PermanentFailure(
              failureCode + "_expired",
              "no record at offset " + next + " of " + tp + " (the log has moved past it)");
        }
        if (position < next) {
          consumer.seek(tp, next); // skip other records instead of reading them
        }
      }
      done.forEach(wanted::remove);
      if (!done.isEmpty()) {
        consumer.pause(done);
      }
    }
  }

  @Override
  public void close() {
    for (KafkaConsumer<String, MessageLite> c : all) {
      c.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
  }
}

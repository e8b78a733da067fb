package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.kafka.CatalogDeserializer;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.ProtobufSerializer;
import ai.ferretstream.proto.kafka.Topic;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerRecordRecoverer;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.ExponentialBackOffWithMaxRetries;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.ErrorHandlingDeserializer;

/**
 * The Kafka client policy every service shares (the auto-configuration builds its beans with
 * these): producers and consumers sized for our records, topic declarations, and the error
 * handling: bounded exponential retries for transient failures, no retries for permanent ones, and
 * for every record given up on an error event to the waiting client plus a copy on {@code
 * <topic>.dlt} with the original headers and the failing service.
 */
public final class FerretKafka {

  private static final Logger log = LoggerFactory.getLogger(FerretKafka.class);

  private FerretKafka() {}

  /**
   * A producer factory for pipeline records: protobuf values (raw bytes pass through for
   * dead-letter copies), request sizes up to {@link KafkaLimits#MAX_RECORD_BYTES}, a buffer for
   * several such records, {@code acks=all}, idempotence and no linger.
   *
   * @param config the client settings (e.g. Boot's {@code KafkaProperties.buildProducerProperties})
   *     plus any overrides of the service; the settings above are put on top
   */
  public static DefaultKafkaProducerFactory<String, Object> producerFactory(
      Map<String, Object> config) {
    Map<String, Object> props = new HashMap<>(config);
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, KafkaLimits.MAX_RECORD_BYTES);
    props.putIfAbsent(ProducerConfig.BUFFER_MEMORY_CONFIG, 4L * KafkaLimits.MAX_RECORD_BYTES);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    // multi-MB records: let the OS size (autotune) the socket buffers instead of 128 KiB
    props.putIfAbsent(ProducerConfig.SEND_BUFFER_CONFIG, -1);
    // a request's small records (fused contexts, answer events) are on its latency path: send at
    // once instead of Kafka 4's default 5 ms linger (multi-MB records fill a batch at once anyway)
    props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 0);
    return new DefaultKafkaProducerFactory<>(
        props, new StringSerializer(), new ProtobufSerializer());
  }

  /**
   * The consumer factory of every listener: values read as their topic's protobuf type ({@link
   * CatalogDeserializer}, parsed in place: {@link InPlaceDeserializer}) inside {@link
   * ErrorHandlingDeserializer} (an undecodable record is dead-lettered, never blocks its
   * partition), fetch sizes of {@link KafkaLimits#MAX_RECORD_BYTES}, no auto-commit (the containers
   * commit after the outputs were sent) and {@code earliest} unless the config says otherwise. A
   * listener's own consumer settings (group, {@code max.poll.records}, {@code auto.offset.reset})
   * go on its {@code @KafkaListener}.
   */
  public static DefaultKafkaConsumerFactory<String, Object> consumerFactory(
      Map<String, Object> config) {
    return consumerFactory(config, null);
  }

  /**
   * {@link #consumerFactory(Map)} with the group membership settings of {@code ferret}: the session
   * timeout and heartbeat interval (unless the config sets them).
   */
  public static DefaultKafkaConsumerFactory<String, Object> consumerFactory(
      Map<String, Object> config, FerretKafkaProperties ferret) {
    Map<String, Object> props = new HashMap<>(config);
    if (ferret != null) {
      props.putIfAbsent(
          ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) ferret.sessionTimeout().toMillis());
      props.putIfAbsent(
          ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) ferret.heartbeatInterval().toMillis());
    }
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, KafkaLimits.MAX_RECORD_BYTES);
    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, KafkaLimits.MAX_RECORD_BYTES);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // multi-MB records: let the OS size (autotune) the socket buffers instead of 64 KiB
    props.putIfAbsent(ConsumerConfig.RECEIVE_BUFFER_CONFIG, -1);
    props.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new DefaultKafkaConsumerFactory<>(
        props, new StringDeserializer(), new InPlaceDeserializer(new CatalogDeserializer()));
  }

  /** One topic declaration per catalog topic and dead-letter topic, sized for our records. */
  public static List<NewTopic> topics(TopicCatalog catalog, int partitions, short replication) {
    return TopicProvisioner.declarations(catalog, partitions, replication);
  }

  /**
   * The error handler of a listener: retries failures that may pass (bounded, exponential backoff),
   * never retries permanent ones (undecodable records, invalid input, {@link PermanentFailure}),
   * and hands every record it gives up on to {@code recoverer}.
   *
   * @param recoverer what happens to a record given up on (see {@link #recoverer})
   * @param retries retries of a retryable failure before giving up
   * @param initialBackoff first retry delay; doubles up to ten times this
   */
  public static DefaultErrorHandler errorHandler(
      ConsumerRecordRecoverer recoverer, int retries, Duration initialBackoff) {
    ExponentialBackOffWithMaxRetries backOff = new ExponentialBackOffWithMaxRetries(retries);
    backOff.setInitialInterval(initialBackoff.toMillis());
    backOff.setMultiplier(2.0);
    backOff.setMaxInterval(initialBackoff.toMillis() * 10);
    DefaultErrorHandler handler = new DefaultErrorHandler(recoverer, backOff);
    handler.addNotRetryableExceptions(
        DeserializationException.class, IllegalArgumentException.class, PermanentFailure.class);
    return handler;
  }

  /**
   * The delay before retry {@code attempt} (0 = the first retry) of work a service retries itself,
   * on the error handler's schedule: {@code initialBackoff}, doubling, up to ten times it.
   */
  public static long retryDelayMillis(Duration initialBackoff, int attempt) {
    long first = initialBackoff.toMillis();
    return Math.min(first << Math.min(attempt, 20), first * 10);
  }

  /**
   * Sets up the container of a listener that commits its offsets itself through an {@link
   * OffsetCommitter} (never past unfinished work): {@code AckMode.MANUAL}, the shared error handler
   * without a commit after a recovered record, the rebalance listener, and idle events every {@code
   * idleInterval} for the commits no record triggers.
   *
   * @return the error handler, for service-specific additions (retry listeners)
   */
  public static DefaultErrorHandler committingItself(
      AbstractMessageListenerContainer<?, ?> container,
      ConsumerRecordRecoverer recoverer,
      FerretKafkaProperties kafka,
      ConsumerRebalanceListener rebalance,
      Duration idleInterval) {
    DefaultErrorHandler handler = errorHandler(recoverer, kafka.retries(), kafka.retryBackoff());
    handler.setAckAfterHandle(false);
    container.setCommonErrorHandler(handler);
    ContainerProperties settings = container.getContainerProperties();
    settings.setAckMode(ContainerProperties.AckMode.MANUAL);
    settings.setConsumerRebalanceListener(rebalance);
    settings.setIdleEventInterval(idleInterval.toMillis());
    return handler;
  }

  /**
   * What the error handler does with a record it gives up on: tells the waiting client (an error
   * event on its reply partition, retryable or not) and copies the record to {@code <topic>.dlt}
   * with {@code ferret-error-*} headers. For services that process records off the consumer thread
   * and so give up on them themselves. Throws if the dead-letter copy cannot be sent.
   */
  public static ConsumerRecordRecoverer recoverer(
      KafkaOperations<String, Object> template, TopicCatalog catalog, String service) {
    DeadLetterPublishingRecoverer deadLetters =
        new DeadLetterPublishingRecoverer(
            template,
            (record, ex) -> new TopicPartition(TopicCatalog.deadLetterOf(record.topic()), -1));
    deadLetters.setHeadersFunction((record, ex) -> errorHeaders(service, ex));
    deadLetters.setFailIfSendResultIsError(true);
    return (record, ex) -> {
      notifyClient(template, catalog, service, record, ex);
      deadLetters.accept(record, ex);
    };
  }

  private static Headers errorHeaders(String service, Exception ex) {
    Headers headers = new RecordHeaders();
    Throwable cause = rootCause(ex);
    headers.add(FerretHeaders.ERROR_SERVICE, service.getBytes(StandardCharsets.UTF_8));
    headers.add(
        FerretHeaders.ERROR_CLASS,
        (isPermanent(ex) ? "permanent" : "retryable").getBytes(StandardCharsets.UTF_8));
    headers.add(
        FerretHeaders.ERROR_REASON,
        String.valueOf(cause.getMessage()).getBytes(StandardCharsets.UTF_8));
    return headers;
  }

  static boolean isPermanent(Throwable ex) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof DeserializationException
          || t instanceof IllegalArgumentException
          || t instanceof PermanentFailure) {
        return true;
      }
    }
    return false;
  }

  private static Throwable rootCause(Throwable ex) {
    Throwable t = ex;
    while (t.getCause() != null && t.getCause() != t) {
      if (t instanceof PermanentFailure || t instanceof TransientFailure) {
        return t;
      }
      t = t.getCause();
    }
    return t;
  }

  /** Tells the waiting client that its request failed at this stage. */
  private static void notifyClient(
      KafkaOperations<String, Object> template,
      TopicCatalog catalog,
      String service,
      ConsumerRecord<?, ?> record,
      Exception ex) {
    if (record.topic().equals(catalog.answers()) || record.topic().equals(catalog.control())) {
      return; // nobody waits on these through us
    }
    RequestContext context = contextOf(record);
    String requestId = context != null ? context.getRequestId() : keyOf(record);
    if ((requestId == null || requestId.isEmpty()) && context != null) {
      // a context without its id (a client's mistake): the client waits on the record's key
      requestId = keyOf(record);
      if (requestId != null && !requestId.isEmpty()) {
        context = context.toBuilder().setRequestId(requestId).build();
      }
    }
    if (requestId == null || requestId.isEmpty()) {
      log.warn("dead-lettering a record without a request id from {}", record.topic());
      return;
    }
    Throwable cause = rootCause(ex);
    String code =
        cause instanceof PermanentFailure pf
            ? pf.code()
            : isPermanent(ex) ? "invalid_request" : "stage_unavailable";
    String message = service + " could not process the request: " + cause.getMessage();
    AnswerEvent event = AnswerEvents.error(requestId, service, code, message, !isPermanent(ex));
    ProducerRecord<String, Object> out;
    if (context != null) {
      out = DurablePublisher.widen(AnswerEvents.record(context, catalog, event));
    } else {
      String header = FerretHeaders.get(record.headers(), FerretHeaders.REPLY_PARTITION);
      out = new ProducerRecord<>(catalog.answers(), headerPartition(header), requestId, event);
      FerretHeaders.put(out.headers(), FerretHeaders.REQUEST_ID, requestId);
    }
    if (out.partition() != null && !answersHave(template, catalog, out.partition())) {
      // a reply partition the answers topic lacks (client input, see ReplyTargets) would hold
      // this thread for the producer's max.block.ms and then fail: partition by key instead
      out =
          new ProducerRecord<>(
              out.topic(),
              null,
              out.key(),
              out.value(),
              out.headers().remove(FerretHeaders.REPLY_PARTITION));
    }
    try {
      template.send(out).get(10, TimeUnit.SECONDS);
    } catch (Exception sendFailure) {
      // the record still goes to the dead-letter topic; the gateway's own deadline ends the wait
      log.error("could not publish the error event of request {}", requestId, sendFailure);
    }
  }

  private static Integer headerPartition(String header) {
    if (header == null) {
      return null;
    }
    try {
      int partition = Integer.parseInt(header.trim());
      return partition >= 0 ? partition : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Whether the producer knows {@code partition} of the answers topic. */
  private static boolean answersHave(
      KafkaOperations<String, Object> template, TopicCatalog catalog, int partition) {
    try {
      return partition < template.partitionsFor(catalog.answers()).size();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String keyOf(ConsumerRecord<?, ?> record) {
    Object key = record.key();
    if (key instanceof String s) {
      return s;
    }
    return FerretHeaders.get(record.headers(), FerretHeaders.REQUEST_ID);
  }

  /** The request context carried by a pipeline record's value, if it has one. */
  public static RequestContext contextOf(ConsumerRecord<?, ?> record) {
    Object value = record.value();
    if (value instanceof AskRequest v) {
      return v.getContext();
    }
    if (value instanceof Tile v) {
      return v.getContext();
    }
    if (value instanceof TileFeatures v) {
      return v.getContext();
    }
    if (value instanceof FusedContext v) {
      return v.getContext();
    }
    return null;
  }

  /** Whether a record came from the given catalog topic. */
  public static boolean from(ConsumerRecord<?, ?> record, TopicCatalog catalog, Topic topic) {
    return record.topic().equals(catalog.name(topic));
  }
}

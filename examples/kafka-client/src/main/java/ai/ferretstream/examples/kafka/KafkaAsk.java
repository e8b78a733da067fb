package ai.ferretstream.examples.kafka;

import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Box;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.CoordinateSpace;
import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Asks Ferret Stream a question over Kafka, without the HTTP gateway: publishes an {@code
 * AskRequest} to {@code ferret.requests}, reads the request's {@code AnswerEvent}s from {@code
 * ferret.answers} as they stream in, and stops at its {@code done} or {@code error} event. Can
 * cancel the request over {@code ferret.control}. See docs/kafka-api.md.
 *
 * <pre>{@code
 * try (KafkaAsk kafka = new KafkaAsk("localhost:9092")) {
 *   AskRequest request = KafkaAsk.request(KafkaAsk.question(Path.of("photo.png"), "What is this?"));
 *   KafkaAsk.Answer answer = kafka.ask(request, event -> System.out.println(event));
 *   System.out.println(answer.text());
 * }
 * }</pre>
 *
 * Or from the command line: {@code KafkaAsk --bootstrap localhost:9092 --image photo.png "What is
 * this?"} (see {@link #main}).
 *
 * <p>Only plain {@code kafka-clients} and Ferret's {@code proto} module (the generated {@code
 * ferret.v1} classes, the topic catalog and the header names); any Kafka client that can write and
 * read protobuf bytes can do the same.
 */
public final class KafkaAsk implements AutoCloseable {

  /** The {@code ferret-producer} header value of our records (diagnostics only). */
  public static final String PRODUCER = "ferret-example-kafka-client";

  /** How long a request may take when the caller does not say: the gateway's default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /**
   * How long to wait past the request's deadline: a stage that finds the deadline passed sends a
   * {@code deadline_exceeded} error event at that moment, which takes a little while to arrive.
   */
  static final Duration AFTER_DEADLINE = Duration.ofSeconds(5);

  /** How long to wait for a request without a deadline (the pipeline then bounds only the llm). */
  static final Duration WITHOUT_DEADLINE = Duration.ofMinutes(3);

  /**
   * How long to wait for the {@code done} event once a cancel is sent: a request cancelled before
   * the llm started its answer is dropped without any further event.
   */
  static final Duration AFTER_CANCEL = Duration.ofSeconds(5);

  /** What to ask: the image, the question and how the answer should come back. */
  public record Question(
      byte[] image,
      String mediaType,
      String prompt,
      List<Region> regions,
      Duration timeout,
      int replyPartition,
      String model,
      int maxTokens,
      boolean grounding) {

    public Question {
      regions = List.copyOf(regions);
    }

    /** The same question with a region (one per {@code <region_fea>} of the prompt, in order). */
    public Question withRegion(Region region) {
      List<Region> more = new ArrayList<>(regions);
      more.add(region);
      return new Question(
          image, mediaType, prompt, more, timeout, replyPartition, model, maxTokens, grounding);
    }

    /** The same question with its answers sent to this partition of ferret.answers (-1: by key). */
    public Question withReplyPartition(int partition) {
      return new Question(
          image, mediaType, prompt, regions, timeout, partition, model, maxTokens, grounding);
    }

    /** The same question with this deadline (from the moment it is built into a request). */
    public Question withTimeout(Duration newTimeout) {
      return new Question(
          image,
          mediaType,
          prompt,
          regions,
          newTimeout,
          replyPartition,
          model,
          maxTokens,
          grounding);
    }

    /** The same question asking for boxes around the objects the answer mentions. */
    public Question withGrounding(boolean on) {
      return new Question(
          image, mediaType, prompt, regions, timeout, replyPartition, model, maxTokens, on);
    }

    /** The same question for this model name (empty: the pipeline's model). */
    public Question withModel(String name) {
      return new Question(
          image, mediaType, prompt, regions, timeout, replyPartition, name, maxTokens, grounding);
    }

    /** The same question with at most this many answer tokens (0: the server's default). */
    public Question withMaxTokens(int tokens) {
      return new Question(
          image, mediaType, prompt, regions, timeout, replyPartition, model, tokens, grounding);
    }
  }

  /** How an answer ended. */
  public enum Outcome {
    /** A {@code done} event: the whole answer came ({@code finish_reason} stop or length). */
    DONE,
    /** A {@code done} event with {@code finish_reason} "cancelled": the answer was cut short. */
    CANCELLED,
    /** A cancel was sent and no event followed: the pipeline dropped the request before the llm. */
    DROPPED_AFTER_CANCEL,
    /** An {@code error} event: the request failed (its code says why). */
    ERROR,
    /** Nothing ended the answer before the deadline (plus {@link #AFTER_DEADLINE}). */
    TIMED_OUT
  }

  /**
   * A request's answer: every event read for it, in the order read, and how it ended.
   *
   * @param partitions the ferret.answers partitions that were read
   */
  public record Answer(
      String requestId, List<AnswerEvent> events, Outcome outcome, Set<Integer> partitions) {

    public Answer {
      events = List.copyOf(events);
      partitions = Set.copyOf(partitions);
    }

    /** The answer text: the text deltas joined. */
    public String text() {
      return events.stream()
          .filter(AnswerEvent::hasDelta)
          .map(e -> e.getDelta().getText())
          .reduce("", String::concat);
    }

    /** The {@code done} event, when the answer ended with one. */
    public Optional<ai.ferretstream.proto.v1.Done> done() {
      return events.stream().filter(AnswerEvent::hasDone).map(AnswerEvent::getDone).findFirst();
    }

    /** The {@code error} event, when the request failed. */
    public Optional<ai.ferretstream.proto.v1.Error> error() {
      return events.stream().filter(AnswerEvent::hasError).map(AnswerEvent::getError).findFirst();
    }

    /** The boxes of a grounded answer, in order. */
    public List<ai.ferretstream.proto.v1.GroundedBox> boxes() {
      return events.stream().filter(AnswerEvent::hasBox).map(AnswerEvent::getBox).toList();
    }
  }

  private final TopicCatalog topics;
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaConsumer<String, byte[]> consumer;

  /** A client of the pipeline on this broker, with the default topic names. */
  public KafkaAsk(String bootstrapServers) {
    this(bootstrapServers, TopicCatalog.defaults());
  }

  /**
   * @param bootstrapServers the Kafka cluster the pipeline runs on
   * @param topics the topic names (a prefix, when the deployment sets {@code ferret.topics.prefix})
   */
  public KafkaAsk(String bootstrapServers, TopicCatalog topics) {
    this.topics = topics;
    this.producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                // an image is one record: allow the pipeline's record size (16 MiB), not 1 MB
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                KafkaLimits.MAX_RECORD_BYTES,
                ProducerConfig.BUFFER_MEMORY_CONFIG,
                2L * KafkaLimits.MAX_RECORD_BYTES,
                // how long send() may wait for the cluster's metadata (e.g. a wrong address)
                ProducerConfig.MAX_BLOCK_MS_CONFIG,
                10_000),
            new StringSerializer(),
            new ByteArraySerializer());
    // no group: this client reads the partitions it names (assign), from their end, and commits
    // nothing; every client reads its own answers independently
    this.consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10_000),
            new StringDeserializer(),
            new ByteArrayDeserializer());
  }

  /**
   * A question about the image in {@code image}, with the defaults: 60 s deadline, answers by key
   * (reply partition -1), the pipeline's model, no grounding.
   */
  public static Question question(Path image, String prompt) throws IOException {
    return new Question(
        Files.readAllBytes(image),
        mediaType(image),
        prompt,
        List.of(),
        DEFAULT_TIMEOUT,
        -1,
        "",
        0,
        false);
  }

  /**
   * A box on the image in the Ferret 0..999 grid ({@code x = int(x_px * 1000 / width)}), corners
   * inclusive: fills one {@code <region_fea>} of the question.
   */
  public static Region box999(int x1, int y1, int x2, int y2) {
    return Region.newBuilder()
        .setSpace(CoordinateSpace.COORDINATE_SPACE_NORMALIZED_999)
        .setBox(Box.newBuilder().setX1(x1).setY1(y1).setX2(x2).setY2(y2))
        .build();
  }

  /** The media type by file extension; only informative (the pipeline sniffs the bytes). */
  static String mediaType(Path image) {
    String name = image.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".png")) {
      return "image/png";
    }
    if (name.endsWith(".jpg") || name.endsWith(".jpeg")) {
      return "image/jpeg";
    }
    if (name.endsWith(".webp")) {
      return "image/webp";
    }
    return "application/octet-stream";
  }

  /** A fresh request id. Any unique string will do; it is the record key everywhere. */
  public static String newRequestId() {
    return "kafka-" + UUID.randomUUID();
  }

  /** The request for {@code question}, with a fresh id, its deadline counted from now. */
  public static AskRequest request(Question question) {
    return request(question, newRequestId(), System.currentTimeMillis());
  }

  /**
   * The {@code AskRequest} the pipeline expects.
   *
   * @param requestId the request's id: also the record key and the key of every answer event
   * @param nowMillis the current time (unix ms): the deadline is {@code now + timeout}
   */
  public static AskRequest request(Question question, String requestId, long nowMillis) {
    RequestContext.Builder context =
        RequestContext.newBuilder()
            .setRequestId(requestId)
            .setCreatedUnixMs(nowMillis)
            // absolute; every stage drops the request once it has passed (deadline_exceeded)
            .setDeadlineUnixMs(nowMillis + question.timeout().toMillis())
            // answers go to ferret.answers (topic empty = that topic), to this partition, or by
            // key with -1; any other topic or partition is refused (invalid_reply_to)
            .setReplyTo(ReplyTo.newBuilder().setPartition(question.replyPartition()))
            .setPrompt(question.prompt())
            // the k-th region fills the k-th <region_fea> of the prompt
            .addAllRegions(question.regions())
            .setGrounding(question.grounding())
            .setModel(question.model())
            .setOptions(GenerationOptions.newBuilder().setMaxTokens(question.maxTokens()));
    return AskRequest.newBuilder()
        .setContext(context)
        .setImage(ByteString.copyFrom(question.image()))
        .setImageMediaType(question.mediaType())
        .build();
  }

  /**
   * The record to publish: keyed by request id, on {@code ferret.requests}, with the headers every
   * pipeline record carries (request id, value type, producer, deadline, reply partition). The
   * reply partition header lets a stage that cannot even decode the value send its error event to
   * the partition you read.
   */
  public ProducerRecord<String, byte[]> record(AskRequest request) {
    RequestContext context = request.getContext();
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(topics.requests(), context.getRequestId(), request.toByteArray());
    FerretHeaders.stamp(record.headers(), context, "ferret.v1.AskRequest", PRODUCER);
    return record;
  }

  /** Asks {@code question} and returns its answer; see {@link #ask(AskRequest, Consumer, int)}. */
  public Answer ask(Question question, Consumer<AnswerEvent> onEvent) {
    return ask(request(question), onEvent, -1);
  }

  /**
   * Publishes {@code request} and reads its answer events until the {@code done} or {@code error}
   * event, the deadline (plus {@link #AFTER_DEADLINE}), or {@link #AFTER_CANCEL} after a cancel.
   *
   * @param onEvent called with each event of the request as it is read (deltas as they stream)
   * @param cancelAfterDeltas cancel the request over ferret.control after this many text deltas (0:
   *     right after publishing it); -1: never
   * @throws KafkaAskException when the broker does not take the request
   */
  public Answer ask(AskRequest request, Consumer<AnswerEvent> onEvent, int cancelAfterDeltas) {
    String id = request.getContext().getRequestId();
    // 1. read from the end of the partitions the answer can come on, starting before we publish,
    //    so that no event is missed
    Set<Integer> partitions =
        answerPartitions(id, request.getContext().getReplyTo().getPartition());
    List<TopicPartition> assigned =
        partitions.stream().map(p -> new TopicPartition(topics.answers(), p)).toList();
    consumer.assign(assigned);
    consumer.seekToEnd(assigned);
    assigned.forEach(consumer::position); // resolve the end offsets now

    // 2. publish the request and wait until the broker has it
    await(producer.send(record(request)), "the request " + id);
    long deadline = request.getContext().getDeadlineUnixMs();
    long waitUntil =
        deadline > 0
            ? deadline + AFTER_DEADLINE.toMillis()
            : System.currentTimeMillis() + WITHOUT_DEADLINE.toMillis();
    int deltas = 0;
    boolean cancelSent = false;
    if (cancelAfterDeltas == 0) {
      cancel(id, "cancelled by " + PRODUCER);
      cancelSent = true;
      waitUntil = Math.min(waitUntil, System.currentTimeMillis() + AFTER_CANCEL.toMillis());
    }

    // 3. read the events with our key until one ends the answer. They come in order (one
    //    partition per request); seq counts the llm's events from 0, a stage's error has seq -1.
    //    Delivery is at least once: an event whose seq came already (a stage re-sent it after a
    //    restart) is skipped.
    List<AnswerEvent> events = new ArrayList<>();
    long nextSeq = 0;
    while (System.currentTimeMillis() < waitUntil) {
      for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
        if (!id.equals(record.key())) {
          continue; // another client's answer on the same partition
        }
        AnswerEvent event = parse(record);
        if (event.getSeq() >= 0 && event.getSeq() < nextSeq) {
          continue; // a duplicate
        }
        nextSeq = Math.max(nextSeq, event.getSeq() + 1);
        events.add(event);
        onEvent.accept(event);
        if (event.hasDone()) {
          boolean cancelled = "cancelled".equals(event.getDone().getFinishReason());
          return new Answer(id, events, cancelled ? Outcome.CANCELLED : Outcome.DONE, partitions);
        }
        if (event.hasError()) {
          return new Answer(id, events, Outcome.ERROR, partitions);
        }
        if (event.hasDelta() && ++deltas == cancelAfterDeltas) {
          cancel(id, "cancelled by " + PRODUCER);
          cancelSent = true;
          waitUntil = Math.min(waitUntil, System.currentTimeMillis() + AFTER_CANCEL.toMillis());
        }
      }
    }
    return new Answer(
        id, events, cancelSent ? Outcome.DROPPED_AFTER_CANCEL : Outcome.TIMED_OUT, partitions);
  }

  /**
   * Tells every stage to drop the request (a {@code Cancel} on {@code ferret.control}, keyed by
   * request id). A request the llm is answering ends with a {@code done} event whose finish_reason
   * is "cancelled"; one cancelled earlier is dropped without another event.
   */
  public void cancel(String requestId, String reason) {
    Cancel cancel =
        Cancel.newBuilder()
            .setRequestId(requestId)
            .setReason(reason)
            .setCreatedUnixMs(System.currentTimeMillis())
            .build();
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(topics.control(), requestId, cancel.toByteArray());
    cancelHeaders(record.headers(), requestId);
    await(producer.send(record), "the cancel of " + requestId);
  }

  /** The headers of a {@code Cancel} record: request id, value type, producer. */
  static void cancelHeaders(Headers headers, String requestId) {
    FerretHeaders.put(headers, FerretHeaders.REQUEST_ID, requestId);
    FerretHeaders.put(headers, FerretHeaders.VALUE_TYPE, "ferret.v1.Cancel");
    FerretHeaders.put(headers, FerretHeaders.PRODUCER, PRODUCER);
  }

  /**
   * The ferret.answers partitions a request's events can come on: the reply partition it names
   * (when the topic has it), and the partition of its key. Events go by key when the request asks
   * for that (-1), and also when its reply partition is refused: the {@code invalid_reply_to} error
   * then has nowhere else to go.
   */
  Set<Integer> answerPartitions(String requestId, int replyPartition) {
    int count = consumer.partitionsFor(topics.answers()).size();
    Set<Integer> partitions = new LinkedHashSet<>();
    if (replyPartition >= 0 && replyPartition < count) {
      partitions.add(replyPartition);
    }
    partitions.add(keyPartition(requestId, count));
    return partitions;
  }

  /** The partition Kafka's default partitioner gives a String key: murmur2 of its UTF-8 bytes. */
  static int keyPartition(String key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  private static AnswerEvent parse(ConsumerRecord<String, byte[]> record) {
    try {
      return AnswerEvent.parseFrom(record.value());
    } catch (InvalidProtocolBufferException e) {
      throw new KafkaAskException(
          "an answer record of " + record.key() + " is not an AnswerEvent: " + e.getMessage(), e);
    }
  }

  private static void await(java.util.concurrent.Future<?> sent, String what) {
    try {
      sent.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaAskException("interrupted while publishing " + what, e);
    } catch (ExecutionException e) {
      throw new KafkaAskException(
          "the broker did not take " + what + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new KafkaAskException("the broker did not acknowledge " + what + " within 30 s", e);
    }
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
    consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
  }

  /** Kafka did not take a record. */
  public static final class KafkaAskException extends RuntimeException {
    KafkaAskException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // ------------------------------------------------------------------------------------------
  // the command line

  static final String USAGE =
      """
      usage: KafkaAsk --image FILE [--bootstrap localhost:9092] [--region x1,y1,x2,y2]...
                      [--reply-partition N] [--timeout SECONDS] [--model NAME] [--max-tokens N]
                      [--grounding] [--cancel-after N] "question"
        Publishes an AskRequest to ferret.requests and prints the answer as it streams in from
        ferret.answers. --region: a box on the 0..999 grid for each <region_fea> of the question,
        in order. --reply-partition: the ferret.answers partition to answer on (-1: by key, the
        default). --cancel-after N: cancel over ferret.control after N text deltas (0: at once).
        Exit status 0 answered (or cancelled), 1 error event or no answer in time, 2 usage.
      """;

  /** Runs the example: see {@link #USAGE}. */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    String bootstrap = "localhost:9092";
    Path image = null;
    String prompt = null;
    List<Region> regions = new ArrayList<>();
    int replyPartition = -1;
    int timeoutSeconds = (int) DEFAULT_TIMEOUT.toSeconds();
    String model = "";
    int maxTokens = 0;
    boolean grounding = false;
    int cancelAfter = -1;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--bootstrap" -> bootstrap = value(args, ++i);
          case "--image" -> image = Path.of(value(args, ++i));
          case "--region" -> regions.add(region(value(args, ++i)));
          case "--reply-partition" -> replyPartition = number(args, ++i);
          case "--timeout" -> timeoutSeconds = number(args, ++i);
          case "--model" -> model = value(args, ++i);
          case "--max-tokens" -> maxTokens = number(args, ++i);
          case "--grounding" -> grounding = true;
          case "--cancel-after" -> cancelAfter = number(args, ++i);
          default -> {
            if (args[i].startsWith("--") || prompt != null) {
              throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            prompt = args[i];
          }
        }
      }
      if (image == null || prompt == null) {
        throw new IllegalArgumentException("an --image and a question are needed");
      }
    } catch (IllegalArgumentException e) {
      err.println("KafkaAsk: " + e.getMessage());
      err.print(USAGE);
      return 2;
    }

    Question question;
    try {
      question =
          question(image, prompt)
              .withReplyPartition(replyPartition)
              .withTimeout(Duration.ofSeconds(timeoutSeconds))
              .withModel(model)
              .withMaxTokens(maxTokens)
              .withGrounding(grounding);
    } catch (IOException e) {
      err.println("KafkaAsk: cannot read the image: " + e.getMessage());
      return 2;
    }
    for (Region region : regions) {
      question = question.withRegion(region);
    }
    AskRequest request = request(question);
    err.println("request " + request.getContext().getRequestId());
    try (KafkaAsk kafka = new KafkaAsk(bootstrap)) {
      Answer answer =
          kafka.ask(
              request,
              event -> {
                // the text as it streams; boxes and the end on lines of their own
                if (event.hasDelta()) {
                  out.print(event.getDelta().getText());
                  out.flush();
                } else if (event.hasBox()) {
                  Box b = event.getBox().getBoxPixels();
                  err.printf(
                      "%n[box \"%s\": (%d, %d, %d, %d) px]%n",
                      event.getBox().getPhrase(), b.getX1(), b.getY1(), b.getX2(), b.getY2());
                }
              },
              cancelAfter);
      out.println();
      return report(answer, err);
    } catch (KafkaAskException e) {
      err.println("KafkaAsk: " + e.getMessage());
      return 1;
    }
  }

  /** Prints how the answer ended; returns the exit status. */
  private static int report(Answer answer, PrintStream err) {
    switch (answer.outcome()) {
      case DONE, CANCELLED -> {
        ai.ferretstream.proto.v1.Done done = answer.done().orElseThrow();
        err.printf(
            "[done: %s, %d prompt + %d completion tokens, model %s]%n",
            done.getFinishReason(),
            done.getUsage().getPromptTokens(),
            done.getUsage().getCompletionTokens(),
            done.getModel());
        return 0;
      }
      case DROPPED_AFTER_CANCEL -> {
        err.println("[cancelled before the llm answered: no further event]");
        return 0;
      }
      case ERROR -> {
        ai.ferretstream.proto.v1.Error error = answer.error().orElseThrow();
        err.printf(
            "[error %s from %s%s: %s]%n",
            error.getCode(),
            error.getStage(),
            error.getRetryable() ? ", retryable" : "",
            error.getMessage());
        return 1;
      }
      default -> {
        err.println("[no answer before the deadline]");
        return 1;
      }
    }
  }

  private static int number(String[] args, int i) {
    try {
      return Integer.parseInt(value(args, i));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(args[i - 1] + " takes a whole number, was " + args[i]);
    }
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  /**
   * A box region from {@code x1,y1,x2,y2} on the 0..999 grid.
   *
   * @throws IllegalArgumentException when it is not four whole numbers in 0..999
   */
  public static Region region(String text) {
    String[] parts = text.replace("[", "").replace("]", "").split(",");
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "a region is x1,y1,x2,y2 on the 0..999 grid, was '" + text + "'");
    }
    int[] v = new int[4];
    for (int k = 0; k < 4; k++) {
      try {
        v[k] = Integer.parseInt(parts[k].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "a region is x1,y1,x2,y2 on the 0..999 grid, was '" + text + "'");
      }
      if (v[k] < 0 || v[k] > 999) {
        throw new IllegalArgumentException(
            "region coordinates are on the 0..999 grid, was '" + text + "'");
      }
    }
    return box999(v[0], v[1], v[2], v[3]);
  }
}

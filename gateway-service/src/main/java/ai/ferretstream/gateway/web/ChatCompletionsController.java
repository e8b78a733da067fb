package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.config.InstanceId;
import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.gateway.domain.AskRequests;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.domain.RequestRejected;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.gateway.messaging.RequestPublisher;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.ReplyTo;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/chat/completions}: validates the request, publishes it to {@code ferret.requests}
 * with this instance's reply partition, and answers from the request's answer events, streamed as
 * server-sent events or as one body. The exchange runs asynchronously (Servlet async): no request
 * thread waits for the pipeline.
 */
@RestController
class ChatCompletionsController {

  private static final Logger log = LoggerFactory.getLogger(ChatCompletionsController.class);

  /** Room for the record's key, headers and batch framing under the broker's limit. */
  private static final int RECORD_OVERHEAD_BYTES = 64 * 1024;

  /** How much longer than the pending-request expiry the servlet container keeps a response. */
  private static final Duration CONTAINER_SLACK = Duration.ofSeconds(30);

  private final ChatRequestReader reader;
  private final PendingRequests pending;
  private final ReplyPartitions replyPartitions;
  private final RequestPublisher publisher;
  private final GatewayProperties properties;
  private final TopicCatalog catalog;
  private final String instanceId;
  private final Executor writers;
  private final JsonMapper json;
  private final Clock clock;

  ChatCompletionsController(
      JsonMapper json,
      GatewayProperties properties,
      TopicCatalog catalog,
      InstanceId instanceId,
      PendingRequests pending,
      ReplyPartitions replyPartitions,
      RequestPublisher publisher,
      @Qualifier("streamWriters") Executor writers,
      Clock clock) {
    this.reader = new ChatRequestReader(json, properties);
    this.json = json;
    this.properties = properties;
    this.catalog = catalog;
    this.instanceId = instanceId.value();
    this.pending = pending;
    this.replyPartitions = replyPartitions;
    this.publisher = publisher;
    this.writers = writers;
    this.clock = clock;
  }

  @PostMapping("/v1/chat/completions")
  void complete(HttpServletRequest http, HttpServletResponse response) throws IOException {
    ChatRequest request;
    try {
      request = reader.read(body(http));
    } catch (RequestRejected rejected) {
      throw ApiError.of(rejected);
    }
    int partition =
        replyPartitions
            .next()
            .orElseThrow(
                () ->
                    ApiError.unavailable(
                        "service_unavailable",
                        "the gateway is starting: it has no answers partition assigned yet"));
    String id = AskRequests.newId();
    long now = clock.millis();
    ReplyTo replyTo =
        ReplyTo.newBuilder()
            .setTopic(catalog.answers())
            .setPartition(partition)
            .setInstance(instanceId)
            .build();
    AskRequest ask = AskRequests.build(request, id, now, properties.requestTimeout(), replyTo);
    if (ask.getSerializedSize() > KafkaLimits.MAX_RECORD_BYTES - RECORD_OVERHEAD_BYTES) {
      throw ApiError.tooLarge(
          "request_too_large",
          "the request is "
              + ask.getSerializedSize()
              + " bytes as a pipeline record; at most "
              + (KafkaLimits.MAX_RECORD_BYTES - RECORD_OVERHEAD_BYTES)
              + " fit");
    }

    OrderedWriter writer = new OrderedWriter(writers);
    ClientConnection connection = new ClientConnection(response, () -> clientGone(id));
    ChunkFormat chunks = new ChunkFormat(json, id, now / 1000, request.model());
    AnswerSink sink =
        request.stream()
            ? new StreamingAnswer(connection, writer, chunks, request.includeUsage())
            : new CompletionAnswer(connection, writer, chunks, json);
    long expiresAt =
        now + properties.requestTimeout().toMillis() + properties.deadlineGrace().toMillis();
    if (!pending.register(id, partition, expiresAt, sink)) {
      throw ApiError.tooManyRequests(
          "the gateway is answering " + pending.capacity() + " requests already; retry shortly");
    }
    try {
      publisher.publish(ask);
    } catch (RequestPublisher.PublishFailed e) {
      pending.forget(id);
      log.warn("request {} not enqueued: {}", id, e.getMessage());
      throw ApiError.unavailable("queue_unavailable", e.getMessage());
    }
    if (request.stream()) {
      response.setStatus(200);
      response.setContentType("text/event-stream");
      response.setHeader("Cache-Control", "no-cache");
      response.setHeader("X-Accel-Buffering", "no");
    }
    connection.startAsync(
        http, properties.requestTimeout().plus(properties.deadlineGrace()).plus(CONTAINER_SLACK));
    writer.start();
  }

  /** The client disconnected before its answer ended: stop waiting and cancel downstream. */
  private void clientGone(String id) {
    if (pending.forget(id)) {
      log.debug("client of {} went away; cancelling it", id);
      publisher.cancel(id, "client disconnected");
    }
  }

  private byte[] body(HttpServletRequest http) throws IOException {
    long max = properties.limits().maxBodySize().toBytes();
    long declared = http.getContentLengthLong();
    if (declared > max) {
      throw bodyTooLarge(max);
    }
    ByteArrayOutputStream out =
        new ByteArrayOutputStream(declared > 0 ? (int) declared : 64 * 1024);
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = http.getInputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (out.size() + (long) n > max) {
          throw bodyTooLarge(max);
        }
        out.write(buffer, 0, n);
      }
    }
    return out.toByteArray();
  }

  private static ApiError bodyTooLarge(long max) {
    return ApiError.tooLarge(
        "request_too_large", "the request body is larger than " + max + " bytes");
  }
}

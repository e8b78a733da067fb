package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.config.GatewayProperties;
import ai.ferretstream.gateway.config.InstanceId;
import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.gateway.domain.AskRequests;
import ai.ferretstream.gateway.domain.ChatRequest;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.gateway.messaging.RequestPublisher;
import ai.ferretstream.proto.kafka.KafkaLimits;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.ReplyTo;
import io.micrometer.core.instrument.MeterRegistry;
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
import org.springframework.stereotype.Component;
import org.springframework.web.util.WebUtils;

/**
 * What every answering endpoint does with a validated request: picks one of this instance's reply
 * partitions, builds the {@code AskRequest}, admits it (a bounded number in flight, 429 beyond),
 * publishes it, and lets the endpoint's {@link AnswerSink} answer asynchronously (Servlet async: no
 * request thread waits for the pipeline). A client that goes away cancels its request.
 */
@Component
class AskDispatch {

  private static final Logger log = LoggerFactory.getLogger(AskDispatch.class);

  /** Room for the record's key, headers and batch framing under the broker's limit. */
  private static final int RECORD_OVERHEAD_BYTES = 64 * 1024;

  /** How much longer than the pending-request expiry the servlet container keeps a response. */
  private static final Duration CONTAINER_SLACK = Duration.ofSeconds(30);

  /** Builds the answer sink of one admitted request. */
  interface Sinks {
    AnswerSink create(
        String requestId, long nowMillis, ClientConnection connection, OrderedWriter writer);
  }

  private final PendingRequests pending;
  private final ReplyPartitions replyPartitions;
  private final RequestPublisher publisher;
  private final GatewayProperties properties;
  private final TopicCatalog catalog;
  private final String instanceId;
  private final Executor writers;
  private final Clock clock;
  private final MeterRegistry meters;
  private final ClientAborts aborts;

  AskDispatch(
      GatewayProperties properties,
      TopicCatalog catalog,
      InstanceId instanceId,
      PendingRequests pending,
      ReplyPartitions replyPartitions,
      RequestPublisher publisher,
      @Qualifier("streamWriters") Executor writers,
      Clock clock,
      MeterRegistry meters) {
    this.meters = meters;
    this.aborts = new ClientAborts(meters);
    this.properties = properties;
    this.catalog = catalog;
    this.instanceId = instanceId.value();
    this.pending = pending;
    this.replyPartitions = replyPartitions;
    this.publisher = publisher;
    this.writers = writers;
    this.clock = clock;
  }

  /**
   * Admits and publishes {@code request}; its answer goes to the sink {@code sinks} makes.
   *
   * @param timeout the request's own deadline, at most the server's {@code request-timeout}
   * @param eventStream whether the response is {@code text/event-stream} (headers set at once)
   */
  void dispatch(
      HttpServletRequest http,
      HttpServletResponse response,
      ChatRequest request,
      Duration timeout,
      boolean eventStream,
      Sinks sinks)
      throws IOException {
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
    AskRequest ask = AskRequests.build(request, id, now, timeout, replyTo);
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
    ClientConnection connection = new ClientConnection(response, () -> clientGone(id), aborts);
    AnswerSink sink =
        new MeteredAnswer(sinks.create(id, now, connection, writer), meters, System.nanoTime());
    long expiresAt = now + timeout.toMillis() + properties.deadlineGrace().toMillis();
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
    if (eventStream) {
      response.setStatus(200);
      response.setContentType("text/event-stream");
      response.setHeader("Cache-Control", "no-cache");
      response.setHeader("X-Accel-Buffering", "no");
    }
    connection.startAsync(http, timeout.plus(properties.deadlineGrace()).plus(CONTAINER_SLACK));
    writer.start();
  }

  /** The client disconnected before its answer ended: stop waiting and cancel downstream. */
  private void clientGone(String id) {
    if (pending.forget(id)) {
      log.debug("client of {} went away; cancelling it", id);
      publisher.cancel(id, "client disconnected");
    }
  }

  /**
   * The request body, refused with 413 beyond {@code limits.max-body-size}. In the server it has
   * been read already, without holding a thread ({@link RequestBodyFilter}); without that filter
   * (tests on a mock request) it is read here.
   */
  byte[] body(HttpServletRequest http) throws IOException {
    long max = properties.limits().maxBodySize().toBytes();
    RequestBodyFilter.BufferedBodyRequest buffered =
        WebUtils.getNativeRequest(http, RequestBodyFilter.BufferedBodyRequest.class);
    if (buffered != null) {
      if (buffered.body().length > max) {
        throw bodyTooLarge(max);
      }
      return buffered.body();
    }
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

  static ApiError bodyTooLarge(long max) {
    return ApiError.tooLarge(
        "request_too_large", "the request body is larger than " + max + " bytes");
  }
}

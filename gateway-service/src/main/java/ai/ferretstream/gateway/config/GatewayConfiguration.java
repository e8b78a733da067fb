package ai.ferretstream.gateway.config;

import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.gateway.domain.PendingRequests;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import ai.ferretstream.gateway.messaging.DeadlineWatcher;
import ai.ferretstream.gateway.messaging.ReplyPartitions;
import ai.ferretstream.gateway.messaging.RequestPublisher;
import ai.ferretstream.proto.kafka.TopicCatalog;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.KafkaTemplate;

/** The gateway's own beans: identity, pending-request registry, publisher, readiness. */
@Configuration(proxyBeanMethods = false)
class GatewayConfiguration {

  private static final Logger log = LoggerFactory.getLogger(GatewayConfiguration.class);

  @Bean
  InstanceId instanceId(GatewayProperties gateway) {
    String id = gateway.instanceId();
    if (id == null || id.isBlank()) {
      id = "gateway-" + UUID.randomUUID().toString().substring(0, 8);
    }
    log.info("gateway instance id {}", id);
    return new InstanceId(id);
  }

  @Bean
  RequestPublisher requestPublisher(
      KafkaTemplate<String, Object> template,
      TopicCatalog catalog,
      GatewayProperties gateway,
      ServiceName service) {
    return new RequestPublisher(template, catalog, gateway.sendTimeout(), service.value());
  }

  @Bean
  DeadlineWatcher deadlineWatcher(
      PendingRequests pending, RequestPublisher publisher, Clock clock, GatewayProperties gateway) {
    return new DeadlineWatcher(pending, publisher, clock, gateway.expiryInterval());
  }

  /**
   * Fetches http(s) image URLs (once for the whole gateway; its threads stop with the context).
   * Absent with {@code ferret.gateway.fetch.enabled=false}: such URLs are refused.
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnProperty(
      prefix = "ferret.gateway.fetch",
      name = "enabled",
      havingValue = "true",
      matchIfMissing = true)
  ImageFetcher imageFetcher(GatewayProperties gateway) {
    return new ImageFetcher(gateway.fetchSettings());
  }

  /** Writes streamed chunks to clients; one drain task per connection at a time. */
  @Bean(destroyMethod = "shutdownNow")
  ExecutorService streamWriters(GatewayProperties gateway) {
    AtomicInteger n = new AtomicInteger();
    int threads = gateway.streamWriterThreads();
    return new ThreadPoolExecutor(
        threads,
        threads,
        60,
        TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "gateway-writer-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * Readiness: UP once the answers consumer owns at least one partition (before that no request
   * could be answered). Part of the {@code readiness} health group.
   */
  @Bean
  HealthIndicator replyPartitionsHealthIndicator(ReplyPartitions replyPartitions) {
    return () -> {
      List<Integer> owned = replyPartitions.owned();
      Health.Builder health = owned.isEmpty() ? Health.down() : Health.up();
      return health.withDetail("partitions", owned).build();
    };
  }

  @Bean
  MeterBinder pendingRequestsMetrics(PendingRequests pending) {
    return registry -> {
      Gauge.builder("ferret.gateway.pending.requests", pending, PendingRequests::size)
          .description("requests waiting for their answer")
          .register(registry);
      // vLLM's num_requests_running, same meaning: requests in flight on this instance
      Gauge.builder("ferret.num.requests.running", pending, PendingRequests::size)
          .description("requests in flight on this gateway instance")
          .register(registry);
    };
  }
}

package ai.ferretstream.encoder.inference;

import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** UP while the inference server reports the encoder's model ready (KServe v2 ModelReady). */
public final class TritonHealthIndicator implements HealthIndicator {

  private final TritonClient client;
  private final String target;
  private final Duration timeout;

  public TritonHealthIndicator(TritonClient client, String target, Duration timeout) {
    this.client = client;
    this.target = target;
    this.timeout = timeout;
  }

  @Override
  public Health health() {
    Health.Builder health =
        Health.unknown().withDetail("target", target).withDetail("model", client.model().name());
    try {
      return (client.modelReady(timeout) ? health.up() : health.down().withDetail("ready", false))
          .build();
    } catch (StatusRuntimeException e) {
      return health.down().withDetail("status", e.getStatus().getCode().name()).build();
    }
  }
}

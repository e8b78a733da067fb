package ai.ferretstream.encoder.inference;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.testsupport.FakeEncoderModel;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

class TritonHealthIndicatorTest {

  private final FakeEncoderModel fake = new FakeEncoderModel(2);
  private Server server;
  private ManagedChannel channel;
  private TritonHealthIndicator health;

  @BeforeEach
  void startFake() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(fake.definition()).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    TritonClient client =
        new TritonClient(
            channel,
            new ModelSpec(FakeEncoderModel.MODEL, "", "pixels", "features", 336, 24),
            Duration.ofSeconds(5));
    health = new TritonHealthIndicator(client, "in-process", Duration.ofSeconds(2));
  }

  @AfterEach
  void stopFake() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void isUpWhileTheModelIsReady() {
    Health result = health.health();

    assertThat(result.getStatus()).isEqualTo(Status.UP);
    assertThat(result.getDetails()).containsEntry("model", FakeEncoderModel.MODEL);
  }

  @Test
  void isDownWhenTheModelIsNotReady() {
    fake.setModelReady(false);

    assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
  }

  @Test
  void isDownWhenTheServerIsGone() {
    server.shutdownNow();

    Health result = health.health();

    assertThat(result.getStatus()).isEqualTo(Status.DOWN);
    assertThat(result.getDetails()).containsEntry("status", "UNAVAILABLE");
  }
}

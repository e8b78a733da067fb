package ai.ferretstream.encoder.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.ferretstream.boot.inference.TritonChannels;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.testsupport.FakeEncoderModel;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The adapter over the production channel ({@link TritonChannels#create}, the one the service uses)
 * against a fake on a real loopback port: proves that the channel's service config retries
 * UNAVAILABLE and nothing else.
 */
class TritonClientIT {

  private final FakeEncoderModel fake = new FakeEncoderModel(2);
  private Server server;
  private ManagedChannel channel;
  private TritonClient client;

  @BeforeEach
  void startFake() throws IOException {
    server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(fake.definition())
            .build()
            .start();
    channel =
        TritonChannels.create("localhost:" + server.getPort(), 64 << 20, Duration.ofSeconds(30), 4);
    client =
        new TritonClient(
            channel,
            new ModelSpec(FakeEncoderModel.MODEL, "", "pixels", "features", 336, 24),
            Duration.ofSeconds(10));
  }

  @AfterEach
  void stopFake() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void retriesUnavailableUntilTheCallSucceeds() {
    fake.failNext(Status.UNAVAILABLE, Status.UNAVAILABLE);

    EncodedBatch batch = client.encode(List.of(FakeEncoderModel.solidTile(7)), List.of("retried"));

    assertThat(batch.features()).hasSize(1);
    assertThat(fake.calls()).hasSize(3);
    assertThat(fake.requestIdHeaders()).containsOnly("retried");
  }

  @Test
  void givesUpOnUnavailableAfterTheConfiguredAttempts() {
    fake.failNext(Status.UNAVAILABLE, Status.UNAVAILABLE, Status.UNAVAILABLE, Status.UNAVAILABLE);

    assertThatThrownBy(() -> client.encode(List.of(FakeEncoderModel.solidTile(7)), List.of("down")))
        .isInstanceOf(TransientFailure.class);
    assertThat(fake.calls()).hasSize(4);
  }

  @Test
  void retriesAnOverloadedServerUntilTheCallSucceeds() {
    fake.failNext(Status.RESOURCE_EXHAUSTED, Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED);

    EncodedBatch batch =
        client.encode(List.of(FakeEncoderModel.solidTile(9)), List.of("overloaded"));

    assertThat(batch.features()).hasSize(1);
    assertThat(fake.calls()).hasSize(4);
  }

  @Test
  void givesUpOnASlowServerAtTheCallDeadlineAsATransientFailure() {
    fake.delayEveryCall(Duration.ofSeconds(3));
    TritonClient impatient =
        new TritonClient(
            channel,
            new ModelSpec(FakeEncoderModel.MODEL, "", "pixels", "features", 336, 24),
            Duration.ofMillis(300));

    assertThatThrownBy(
            () -> impatient.encode(List.of(FakeEncoderModel.solidTile(7)), List.of("slow")))
        .isInstanceOf(TransientFailure.class)
        .hasMessageContaining("DEADLINE_EXCEEDED");
    // the deadline covers the whole call: no retry of a deadline
    assertThat(fake.calls()).hasSize(1);
  }

  @Test
  void doesNotRetryARejectedInput() {
    fake.failNext(Status.INVALID_ARGUMENT);

    assertThatThrownBy(() -> client.encode(List.of(FakeEncoderModel.solidTile(7)), List.of("bad")))
        .isInstanceOf(PermanentFailure.class);
    assertThat(fake.calls()).hasSize(1);
  }
}

package ai.ferretstream.encoder.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import ai.ferretstream.encoder.domain.EncoderRole;
import ai.ferretstream.encoder.inference.FakeInferenceService;
import ai.ferretstream.encoder.inference.ModelSpec;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.TopicCatalog;
import ai.ferretstream.proto.tensor.TensorCodec;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.listener.BatchListenerFailedException;
import org.springframework.kafka.support.SendResult;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.SerializationUtils;

class TileBatchListenerTest {

  private static final long NOW = 1_700_000_000_000L;
  private static final int CHANNELS = 3;

  private final FakeInferenceService fake = new FakeInferenceService(CHANNELS);
  private final TopicCatalog catalog = new TopicCatalog("t.");
  private final List<ProducerRecord<String, Object>> sent = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @SuppressWarnings("unchecked")
  private final KafkaOperations<String, Object> kafka = mock(KafkaOperations.class);

  private Server server;
  private ManagedChannel channel;
  private TileBatchListener listener;
  private long offset;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(fake.definition())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    TritonClient triton =
        new TritonClient(
            channel,
            new ModelSpec(FakeInferenceService.MODEL, "", "pixels", "features", 336, 24),
            Duration.ofSeconds(5));
    listener =
        new TileBatchListener(
            triton,
            EncoderRole.LOCAL,
            kafka,
            catalog,
            Duration.ofSeconds(1),
            "encoder-service",
            Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC),
            meters);
    when(kafka.send(ArgumentMatchers.<ProducerRecord<String, Object>>any()))
        .thenAnswer(
            call -> {
              sent.add(call.getArgument(0));
              return CompletableFuture.completedFuture(sendResult());
            });
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @SuppressWarnings("unchecked")
  private static SendResult<String, Object> sendResult() {
    return mock(SendResult.class);
  }

  private ConsumerRecord<String, Tile> tile(String id, int index, int red, long deadline) {
    return record(
        id,
        Tile.newBuilder()
            .setContext(
                RequestContext.newBuilder()
                    .setRequestId(id)
                    .setDeadlineUnixMs(deadline)
                    .putTimings("tiler.done", NOW - 3))
            .setKind(TileKind.TILE_KIND_LOCAL)
            .setIndex(index)
            .setLocalCount(4)
            .setLayout(GridLayout.newBuilder().setCols(2).setRows(2).setTileSize(336))
            .setWidth(336)
            .setHeight(336)
            .setRgb(FakeInferenceService.solidTile(red))
            .build());
  }

  private ConsumerRecord<String, Tile> record(String key, Tile value) {
    return new ConsumerRecord<>("t.ferret.tiles.local", 0, offset++, key, value);
  }

  private List<TileFeatures> sentFeatures() {
    return sent.stream()
        .filter(r -> r.topic().equals("t.ferret.features"))
        .map(r -> (TileFeatures) r.value())
        .toList();
  }

  private static float firstFeature(TileFeatures features, int channel) {
    return TensorCodec.fp16ToFloats(features.getFeaturesFp16().toByteArray())[channel];
  }

  @Test
  void encodesTilesOfSeveralRequestsInOneCallAndRoutesTheirFeatures() {
    listener.onMessage(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0), tile("a", 1, 30, 0)));

    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(3);
    assertThat(sent).extracting(ProducerRecord::key).containsExactly("a", "b", "a");
    List<TileFeatures> features = sentFeatures();
    assertThat(features)
        .extracting(f -> f.getContext().getRequestId())
        .containsExactly("a", "b", "a");
    assertThat(features).extracting(TileFeatures::getIndex).containsExactly(0, 0, 1);
    assertThat(firstFeature(features.get(0), 0)).isEqualTo(10f);
    assertThat(firstFeature(features.get(1), 2)).isEqualTo(22f);
    assertThat(firstFeature(features.get(2), 1)).isEqualTo(31f);
    TileFeatures first = features.get(0);
    assertThat(first.getKind()).isEqualTo(TileKind.TILE_KIND_LOCAL);
    assertThat(first.getModel()).isEqualTo(FakeInferenceService.MODEL);
    assertThat(first.getPatchRows()).isEqualTo(24);
    assertThat(first.getPatchCols()).isEqualTo(24);
    assertThat(first.getChannels()).isEqualTo(CHANNELS);
    assertThat(first.getLocalCount()).isEqualTo(4);
    assertThat(first.getLayout().getCols()).isEqualTo(2);
    assertThat(first.getFeaturesFp16().size()).isEqualTo(576 * CHANNELS * 2);
    assertThat(first.getContext().getTimingsMap())
        .containsEntry("tiler.done", NOW - 3)
        .containsEntry("encoder.local.done", NOW);
    assertThat(meters.get("ferret.encoder.batch.size").summary().max()).isEqualTo(3.0);
  }

  @Test
  void dropsExpiredTilesWithOneErrorEventPerRequest() {
    listener.onMessage(
        List.of(
            tile("late", 0, 10, NOW - 1), tile("ok", 0, 20, NOW + 1000), tile("late", 1, 30, NOW)));

    assertThat(fake.calls()).hasSize(1);
    assertThat(fake.calls().get(0).getInputs(0).getShape(0)).isEqualTo(1);
    List<AnswerEvent> errors =
        sent.stream()
            .filter(r -> r.topic().equals("t.ferret.answers"))
            .map(r -> (AnswerEvent) r.value())
            .toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).getRequestId()).isEqualTo("late");
    assertThat(errors.get(0).getError().getCode()).isEqualTo("deadline_exceeded");
    assertThat(sentFeatures()).extracting(f -> f.getContext().getRequestId()).containsExactly("ok");
  }

  @Test
  void publishesTheTilesBeforeAnInvalidOneAndNamesIt() {
    Tile wrongSize =
        tile("bad", 0, 1, 0).value().toBuilder().setRgb(ByteString.copyFrom(new byte[9])).build();

    assertThatThrownBy(
            () ->
                listener.onMessage(
                    List.of(tile("a", 0, 10, 0), record("bad", wrongSize), tile("c", 0, 30, 0))))
        .isInstanceOfSatisfying(
            BatchListenerFailedException.class,
            e -> {
              assertThat(e.getIndex()).isEqualTo(1);
              assertThat(e.getCause()).isInstanceOf(PermanentFailure.class);
              assertThat(((PermanentFailure) e.getCause()).code()).isEqualTo("invalid_tile");
            });
    assertThat(sentFeatures()).extracting(f -> f.getContext().getRequestId()).containsExactly("a");
  }

  @Test
  void refusesATileOfTheOtherRole() {
    Tile global = tile("g", 0, 1, 0).value().toBuilder().setKind(TileKind.TILE_KIND_GLOBAL).build();

    assertThatThrownBy(() -> listener.onMessage(List.of(record("g", global))))
        .isInstanceOfSatisfying(
            BatchListenerFailedException.class,
            e -> assertThat(e.getCause()).hasMessageContaining("local encoder"));
    assertThat(fake.calls()).isEmpty();
  }

  @Test
  void namesAnUndecodableRecord() {
    RecordHeaders headers = new RecordHeaders();
    SerializationUtils.deserializationException(
        headers, new byte[] {1, 2}, new IllegalStateException("garbage"), false);
    ConsumerRecord<String, Tile> undecodable =
        new ConsumerRecord<>(
            "t.ferret.tiles.local",
            0,
            offset++,
            NOW,
            TimestampType.CREATE_TIME,
            2,
            2,
            "x",
            null,
            headers,
            java.util.Optional.empty());

    assertThatThrownBy(() -> listener.onMessage(List.of(tile("a", 0, 10, 0), undecodable)))
        .isInstanceOfSatisfying(
            BatchListenerFailedException.class,
            e -> {
              assertThat(e.getIndex()).isEqualTo(1);
              assertThat(e.getCause()).isInstanceOf(DeserializationException.class);
            });
    assertThat(sentFeatures()).hasSize(1);
  }

  @Test
  void narrowsARejectedBatchDownToTheTileTheModelRejects() {
    fake.rejectTilesWithRed(66);
    ConsumerRecord<String, Tile> poison = tile("poison", 0, 66, 0);

    assertThatThrownBy(
            () -> listener.onMessage(List.of(tile("a", 0, 10, 0), poison, tile("b", 0, 20, 0))))
        .isInstanceOfSatisfying(
            BatchListenerFailedException.class,
            e -> {
              assertThat(e.getRecord()).isSameAs(poison);
              assertThat(((PermanentFailure) e.getCause()).code()).isEqualTo("inference_rejected");
            });
    // the batch call, then "a" alone, then the poison tile alone
    assertThat(fake.calls()).hasSize(3);
    assertThat(sentFeatures()).extracting(f -> f.getContext().getRequestId()).containsExactly("a");
  }

  @Test
  void failsTheWholeBatchWhenTheServerIsUnavailable() {
    fake.failNext(Status.UNAVAILABLE);

    assertThatThrownBy(() -> listener.onMessage(List.of(tile("a", 0, 10, 0), tile("b", 0, 20, 0))))
        .isInstanceOf(TransientFailure.class);
    assertThat(sent).isEmpty();
  }
}

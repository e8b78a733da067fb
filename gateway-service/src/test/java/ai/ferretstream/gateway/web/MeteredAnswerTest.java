package ai.ferretstream.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.Done;
import ai.ferretstream.proto.v1.Usage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeteredAnswerTest {

  private final List<AnswerEvent> ended = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AnswerSink sink =
      new AnswerSink() {
        @Override
        public void event(AnswerEvent event) {}

        @Override
        public void end(AnswerEvent event) {
          ended.add(event);
        }
      };

  @Test
  void theLastEventCarriesWhenTheGatewayReceivedIt() {
    long before = System.currentTimeMillis();
    new MeteredAnswer(sink, meters, System.nanoTime())
        .end(
            AnswerEvent.newBuilder()
                .setRequestId("r")
                .setDone(
                    Done.newBuilder()
                        .setFinishReason("stop")
                        .setUsage(Usage.newBuilder().setCompletionTokens(3))
                        .putTimings("gateway.accepted", before - 100)
                        .putTimings("llm.done", before - 10))
                .build());

    assertThat(ended).hasSize(1);
    assertThat(ended.get(0).getDone().getTimingsMap())
        .containsEntry("llm.done", before - 10)
        .containsKey(MeteredAnswer.ANSWERED);
    assertThat(ended.get(0).getDone().getTimingsOrThrow(MeteredAnswer.ANSWERED))
        .isBetween(before, System.currentTimeMillis());
    assertThat(meters.get("ferret.request.success").counter().count()).isEqualTo(1.0);
  }
}

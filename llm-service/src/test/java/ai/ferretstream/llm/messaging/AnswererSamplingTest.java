package ai.ferretstream.llm.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.llm.inference.GenerationRequest;
import ai.ferretstream.proto.v1.GenerationOptions;
import org.junit.jupiter.api.Test;

class AnswererSamplingTest {

  @Test
  void aSampledRequestWithoutASeedGetsOneFromItsIdSoThatARegenerationSamplesTheSame() {
    GenerationOptions sampled = GenerationOptions.newBuilder().setTemperature(0.8f).build();

    GenerationRequest.Sampling first = Answerer.sampling(sampled, "req-1", 128);
    GenerationRequest.Sampling again = Answerer.sampling(sampled, "req-1", 128);
    GenerationRequest.Sampling other = Answerer.sampling(sampled, "req-2", 128);

    assertThat(first.seed()).isNotNull().isNotNegative().isEqualTo(again.seed());
    assertThat(other.seed()).isNotEqualTo(first.seed());
    assertThat(first.temperature()).isEqualTo(0.8f);
    assertThat(first.maxTokens()).isEqualTo(128);
  }

  @Test
  void theClientsSeedIsKeptAndGreedyRequestsGetNone() {
    GenerationOptions seeded =
        GenerationOptions.newBuilder().setTemperature(0.8f).setSeed(7).setHasSeed(true).build();
    GenerationOptions greedy = GenerationOptions.newBuilder().setMaxTokens(16).build();

    assertThat(Answerer.sampling(seeded, "req-1", 128).seed()).isEqualTo(7L);
    assertThat(Answerer.sampling(greedy, "req-1", 128).seed()).isNull();
    assertThat(Answerer.sampling(greedy, "req-1", 128).maxTokens()).isEqualTo(16);
    assertThat(Answerer.sampling(greedy, "req-1", 128).topP()).isEqualTo(1.0f);
  }
}

package ai.ferretstream.encoder.config;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.encoder.inference.ModelSpec;
import ai.ferretstream.encoder.inference.ModelStartupCheck;
import ai.ferretstream.encoder.inference.TritonClient;
import ai.ferretstream.encoder.inference.TritonHealthIndicator;
import io.grpc.ManagedChannel;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The Triton adapter on the starter's channel, the start-up model check and health. */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  /** Deadline of the readiness probe's ModelReady call. */
  private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

  @Bean
  TritonClient tritonClient(
      ManagedChannel tritonChannel,
      EncoderProperties properties,
      InferenceProperties inference,
      ObjectProvider<SharedMemoryPool> sharedMemory) {
    EncoderProperties.Encoder encoder = properties.encoder();
    return new TritonClient(
        tritonChannel,
        new ModelSpec(
            encoder.modelName(),
            encoder.modelVersion(),
            encoder.inputName(),
            encoder.outputName(),
            encoder.tileSize(),
            encoder.patchGrid()),
        inference.callTimeout(),
        sharedMemory.getIfAvailable());
  }

  @Bean
  ModelStartupCheck modelStartupCheck(
      TritonClient tritonClient, EncoderProperties properties, InferenceProperties inference) {
    return new ModelStartupCheck(
        tritonClient, inference.target(), properties.encoder().startupTimeout());
  }

  /** Health contributor {@code triton}; part of the readiness group (encoder-service.yml). */
  @Bean
  TritonHealthIndicator tritonHealthIndicator(
      TritonClient tritonClient, InferenceProperties inference) {
    return new TritonHealthIndicator(tritonClient, inference.target(), HEALTH_TIMEOUT);
  }
}

package ai.ferretstream.llm.config;

import ai.ferretstream.llm.inference.TritonLlmClient;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.boot.inference.TritonChannels;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The channel to the inference server and the LLM adapter. With {@code
 * ferret.inference.verify-on-startup} the model's contract is checked before any listener starts; a
 * missing server or a mismatching model fails start-up with a message saying what differs.
 */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  private static final Logger log = LoggerFactory.getLogger(InferenceConfig.class);

  @Bean(destroyMethod = "shutdownNow")
  ManagedChannel tritonChannel(LlmProperties properties) {
    LlmProperties.Inference inference = properties.inference();
    return TritonChannels.create(
        inference.target(),
        (int) inference.maxMessageSize().toBytes(),
        inference.keepAlive(),
        inference.maxAttempts(),
        inference.balancing());
  }

  @Bean
  Clock clock() {
    return Clock.systemUTC();
  }

  @Bean
  TritonLlmClient tritonLlmClient(ManagedChannel channel, LlmProperties properties) {
    LlmProperties.Inference inference = properties.inference();
    int maxBytes = (int) inference.maxMessageSize().toBytes();
    if (inference.verifyOnStartup()) {
      try {
        TritonLlmClient.contract(inference.model())
            .verify(
                GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withMaxInboundMessageSize(maxBytes),
                inference.callTimeout().toMillis());
      } catch (StatusRuntimeException e) {
        throw new IllegalStateException(
            "cannot check model "
                + inference.model()
                + " on the inference server at "
                + inference.target()
                + ": "
                + e.getStatus(),
            e);
      }
      log.info("model {} at {} matches the contract", inference.model(), inference.target());
    }
    return new TritonLlmClient(
        GRPCInferenceServiceGrpc.newStub(channel)
            .withMaxInboundMessageSize(maxBytes)
            .withMaxOutboundMessageSize(maxBytes),
        inference.model());
  }
}

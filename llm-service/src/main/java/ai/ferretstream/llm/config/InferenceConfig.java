package ai.ferretstream.llm.config;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.llm.inference.TritonLlmClient;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import io.grpc.ManagedChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The LLM adapter on the starter's channel. With {@code ferret.inference.verify-on-startup} the
 * model's contract is checked before any listener starts; a missing server or a mismatching model
 * fails start-up with a message saying what differs.
 */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  private static final Logger log = LoggerFactory.getLogger(InferenceConfig.class);

  @Bean
  TritonLlmClient tritonLlmClient(
      ManagedChannel tritonChannel,
      InferenceProperties inference,
      LlmProperties properties,
      ObjectProvider<SharedMemoryPool> sharedMemory) {
    String model = properties.llm().model();
    long regionWidth = -1;
    if (inference.verifyOnStartup()) {
      regionWidth =
          TritonLlmClient.regionWidth(
              TritonLlmClient.contract(model)
                  .verifyAtStartup(tritonChannel, inference.target(), inference.callTimeout()));
      log.info(
          "model {} at {} matches the contract; region embeddings {} wide",
          model,
          inference.target(),
          regionWidth > 0 ? regionWidth : "any");
    }
    return new TritonLlmClient(
        GRPCInferenceServiceGrpc.newStub(tritonChannel)
            .withMaxInboundMessageSize(inference.maxMessageBytes())
            .withMaxOutboundMessageSize(inference.maxMessageBytes()),
        model,
        sharedMemory.getIfAvailable(),
        regionWidth);
  }
}

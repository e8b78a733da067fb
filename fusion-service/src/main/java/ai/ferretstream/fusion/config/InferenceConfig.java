package ai.ferretstream.fusion.config;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.fusion.inference.TritonRegionSampler;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import io.grpc.ManagedChannel;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The region sampler adapter on the starter's channel. With {@code
 * ferret.inference.verify-on-startup} the model's contract is checked before any listener starts; a
 * missing server or a mismatching model fails start-up with a message saying what differs.
 */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  private static final Logger log = LoggerFactory.getLogger(InferenceConfig.class);

  @Bean
  RegionSampler regionSampler(
      ManagedChannel tritonChannel,
      InferenceProperties inference,
      FusionProperties properties,
      Clock clock,
      ObjectProvider<SharedMemoryPool> sharedMemory) {
    String model = properties.fusion().model();
    if (inference.verifyOnStartup()) {
      TritonRegionSampler.contract(model)
          .verifyAtStartup(tritonChannel, inference.target(), inference.callTimeout());
      log.info("model {} at {} matches the contract", model, inference.target());
    }
    GRPCInferenceServiceBlockingStub stub =
        GRPCInferenceServiceGrpc.newBlockingStub(tritonChannel)
            .withMaxInboundMessageSize(inference.maxMessageBytes())
            .withMaxOutboundMessageSize(inference.maxMessageBytes());
    return new TritonRegionSampler(
        stub, model, inference.callTimeout(), clock, sharedMemory.getIfAvailable());
  }
}

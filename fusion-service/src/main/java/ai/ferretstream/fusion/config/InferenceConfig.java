package ai.ferretstream.fusion.config;

import ai.ferretstream.fusion.domain.RegionSampler;
import ai.ferretstream.fusion.inference.TritonRegionSampler;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import ai.ferretstream.boot.inference.TritonChannels;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The channel to the inference server and the region sampler adapter. With {@code
 * ferret.inference.verify-on-startup} the model's contract is checked before any listener starts; a
 * missing server or a mismatching model fails start-up with a message saying what differs.
 */
@Configuration(proxyBeanMethods = false)
class InferenceConfig {

  private static final Logger log = LoggerFactory.getLogger(InferenceConfig.class);

  @Bean(destroyMethod = "shutdownNow")
  ManagedChannel tritonChannel(FusionProperties properties) {
    FusionProperties.Inference inference = properties.inference();
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
  RegionSampler regionSampler(ManagedChannel channel, FusionProperties properties, Clock clock) {
    FusionProperties.Inference inference = properties.inference();
    int maxBytes = (int) inference.maxMessageSize().toBytes();
    GRPCInferenceServiceBlockingStub stub =
        GRPCInferenceServiceGrpc.newBlockingStub(channel)
            .withMaxInboundMessageSize(maxBytes)
            .withMaxOutboundMessageSize(maxBytes);
    if (inference.verifyOnStartup()) {
      try {
        TritonRegionSampler.contract(inference.model())
            .verify(stub, inference.callTimeout().toMillis());
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
    return new TritonRegionSampler(stub, inference.model(), inference.callTimeout(), clock);
  }
}

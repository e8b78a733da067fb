package ai.ferretstream.boot.autoconfigure;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.inference.SharedMemoryPool;
import ai.ferretstream.boot.inference.TritonChannels;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * The channel to Triton (or our inference server) from {@code ferret.inference.*}, for a service
 * that calls models: it is configured when {@code ferret.inference.enabled} is true (the encoder,
 * fusion and llm turn it on in their configuration files; the gateway and tiler call no model). One
 * channel per service: retries only {@code UNAVAILABLE}/{@code RESOURCE_EXHAUSTED}, keepalive,
 * explicit message limits, the configured load balancing; shut down with the context.
 */
@AutoConfiguration
@ConditionalOnClass(ManagedChannel.class)
@ConditionalOnProperty(prefix = "ferret.inference", name = "enabled", havingValue = "true")
@EnableConfigurationProperties(InferenceProperties.class)
public class FerretInferenceAutoConfiguration {

  @Bean(destroyMethod = "shutdownNow")
  @ConditionalOnMissingBean
  ManagedChannel tritonChannel(InferenceProperties inference) {
    return TritonChannels.create(
        inference.target(),
        inference.maxMessageBytes(),
        inference.keepAlive(),
        inference.maxAttempts(),
        inference.balancing());
  }

  /**
   * Shared-memory slots registered with the co-located server, when {@code
   * ferret.inference.shared-memory.enabled}; closed (unregistered, removed) before the channel.
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  @ConditionalOnProperty(
      prefix = "ferret.inference.shared-memory",
      name = "enabled",
      havingValue = "true")
  SharedMemoryPool sharedMemoryPool(
      ManagedChannel tritonChannel,
      InferenceProperties inference,
      Environment environment,
      ObjectProvider<MeterRegistry> meters) {
    if (!inference.loadBalancing().equals("pick_first")) {
      throw new IllegalStateException(
          "ferret.inference.shared-memory.enabled needs ferret.inference.load-balancing:"
              + " pick_first: regions are registered with one co-located server, not with each of "
              + inference.target());
    }
    String owner =
        environment
            .getProperty("spring.application.name", "ferret")
            .replaceAll("[^A-Za-z0-9_-]", "-")
            .replaceAll("-+", "-")
            .replaceAll("^-|-$", "");
    return new SharedMemoryPool(
        tritonChannel,
        owner.isEmpty() ? "ferret" : owner,
        inference.sharedMemory().slots(),
        inference.sharedMemory().slotBytes(),
        inference.callTimeout(),
        meters.getIfAvailable());
  }
}

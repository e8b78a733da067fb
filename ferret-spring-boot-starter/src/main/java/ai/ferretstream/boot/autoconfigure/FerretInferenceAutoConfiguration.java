package ai.ferretstream.boot.autoconfigure;

import ai.ferretstream.boot.inference.InferenceProperties;
import ai.ferretstream.boot.inference.TritonChannels;
import io.grpc.ManagedChannel;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

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
}

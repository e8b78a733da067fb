package ai.ferretstream.gateway.config;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * API-key authentication of the gateway's API ({@code ferret.auth.*}).
 *
 * @param apiKeys accepted keys; empty (the default, as for {@code ./ferret up}) = no
 *     authentication. From the environment: {@code FERRET_AUTH_API_KEYS=key1,key2} (the Helm chart
 *     sets it from a Secret).
 */
@ConfigurationProperties("ferret.auth")
public record AuthProperties(@DefaultValue List<String> apiKeys) {

  public AuthProperties {
    apiKeys = apiKeys == null ? List.of() : apiKeys.stream().filter(k -> !k.isBlank()).toList();
  }

  public boolean enabled() {
    return !apiKeys.isEmpty();
  }
}

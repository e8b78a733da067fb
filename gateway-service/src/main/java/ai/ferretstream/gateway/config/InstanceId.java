package ai.ferretstream.gateway.config;

/**
 * This gateway instance's id, written into {@code reply_to.instance} for diagnostics.
 *
 * @param value the id
 */
public record InstanceId(String value) {}

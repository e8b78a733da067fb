package ai.ferretstream.gateway.domain;

/**
 * An encoded image as the client sent it.
 *
 * @param bytes the encoded image (PNG, JPEG, ...)
 * @param mediaType the media type the client declared, e.g. {@code image/png}
 */
public record ImageData(byte[] bytes, String mediaType) {}

package ai.ferretstream.gateway.config;

import ai.ferretstream.gateway.fetch.AddressPolicy;
import ai.ferretstream.gateway.fetch.ImageFetcher;
import ai.ferretstream.proto.kafka.KafkaLimits;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the gateway ({@code ferret.gateway.*}).
 *
 * @param modelName the model id served at {@code /v1/models}; requests naming another model get 404
 * @param instanceId this instance's id in {@code reply_to.instance}; empty = generated at start-up
 * @param requestTimeout how long a request may take end to end; sets its deadline
 * @param deadlineGrace how long past the deadline the gateway still waits for the pipeline's own
 *     {@code deadline_exceeded} event before failing the request itself
 * @param expiryInterval how often pending requests are checked against their deadlines
 * @param sendTimeout the longest wait for the broker to acknowledge a published request
 * @param maxInFlight the most requests pending at once; beyond it clients get 429
 * @param defaultMaxTokens {@code max_tokens} when the client gives none
 * @param streamWriterThreads threads that write streamed chunks to clients (slow clients never
 *     stall the answers consumer)
 * @param answers the answers consumer
 * @param limits input limits
 * @param fetch fetching of http(s) image URLs
 * @param bodyReadTimeout how long a client may take to send its whole request body; the body is
 *     read without holding a request thread, and a client that is slower gets 408 and its
 *     connection closed
 */
@Validated
@ConfigurationProperties("ferret.gateway")
public record GatewayProperties(
    @DefaultValue("ferret-v2-dev") @NotBlank String modelName,
    @DefaultValue("") String instanceId,
    @DefaultValue("60s") @NotNull Duration requestTimeout,
    @DefaultValue("2s") @NotNull Duration deadlineGrace,
    @DefaultValue("250ms") @NotNull Duration expiryInterval,
    @DefaultValue("10s") @NotNull Duration sendTimeout,
    @DefaultValue("256") @Positive int maxInFlight,
    @DefaultValue("256") @Positive int defaultMaxTokens,
    @DefaultValue("8") @Positive int streamWriterThreads,
    @DefaultValue @Valid @NotNull Answers answers,
    @DefaultValue @Valid @NotNull Limits limits,
    @DefaultValue @Valid @NotNull Fetch fetch,
    @DefaultValue("10s") @NotNull Duration bodyReadTimeout) {

  /** The constructor the binder uses (the record has a second one). */
  @ConstructorBinding
  public GatewayProperties {}

  /**
   * Settings without a {@code fetch} section, as code built them before image URLs were fetched:
   * http(s) image URLs are turned off ({@link Fetch#off()}), bodies may take the default 10 s.
   * Binding uses the full constructor.
   */
  public GatewayProperties(
      String modelName,
      String instanceId,
      Duration requestTimeout,
      Duration deadlineGrace,
      Duration expiryInterval,
      Duration sendTimeout,
      int maxInFlight,
      int defaultMaxTokens,
      int streamWriterThreads,
      Answers answers,
      Limits limits) {
    this(
        modelName,
        instanceId,
        requestTimeout,
        deadlineGrace,
        expiryInterval,
        sendTimeout,
        maxInFlight,
        defaultMaxTokens,
        streamWriterThreads,
        answers,
        limits,
        Fetch.off(),
        Duration.ofSeconds(10));
  }

  @AssertTrue(message = "body-read-timeout must be positive")
  boolean isBodyReadTimeoutPositive() {
    return bodyReadTimeout == null || (!bodyReadTimeout.isNegative() && !bodyReadTimeout.isZero());
  }

  /** What the image fetcher needs: {@link Fetch} and the image size limit. */
  public ImageFetcher.Settings fetchSettings() {
    return new ImageFetcher.Settings(
        fetch.timeout(),
        fetch.maxRedirects(),
        limits.maxImageBytes().toBytes(),
        new AddressPolicy(fetch.allowHosts(), fetch.allowCidrs()));
  }

  /**
   * The consumer of {@code ferret.answers}.
   *
   * @param groupId consumer group shared by all gateway instances; each instance answers on the
   *     partitions the group assigns it
   */
  public record Answers(@DefaultValue("ferret-gateway") @NotBlank String groupId) {}

  /**
   * Input limits. Requests beyond them get 400 or 413 with the reason.
   *
   * @param maxBodySize the largest request body (base64 inflates images by 4/3)
   * @param maxImageBytes the largest decoded image; it travels in one Kafka record, so it must stay
   *     below {@link KafkaLimits#MAX_RECORD_BYTES}
   * @param maxPromptChars the most characters of text in all messages together
   * @param maxMessages the most messages in one request
   * @param maxRegions the most {@code <region_fea>} regions in one conversation (every turn's)
   * @param maxTokens the largest {@code max_tokens} accepted
   */
  public record Limits(
      @DefaultValue("24MB") @NotNull DataSize maxBodySize,
      @DefaultValue("15MB") @NotNull DataSize maxImageBytes,
      @DefaultValue("16000") @Positive int maxPromptChars,
      @DefaultValue("64") @Positive int maxMessages,
      @DefaultValue("32") @Positive @Max(512) int maxRegions,
      @DefaultValue("4096") @Positive int maxTokens) {

    @AssertTrue(message = "max-image-bytes must be below the Kafka record limit of 16 MiB")
    boolean isImageLimitBelowRecordLimit() {
      return maxImageBytes == null || maxImageBytes.toBytes() < KafkaLimits.MAX_RECORD_BYTES;
    }
  }

  /**
   * Fetching of {@code http://} and {@code https://} image URLs (see the gateway README, "Image
   * URLs"). The host is resolved once and every address it resolves to must be public: loopback,
   * private, link-local, multicast, unspecified, carrier-grade NAT and reserved addresses are
   * refused unless allowed here. The image size limit is {@code limits.max-image-bytes}.
   *
   * @param enabled whether http(s) image URLs are fetched at all; off = 400 {@code
   *     unsupported_image_url}
   * @param timeout the longest one fetch may take: name resolution, every redirect and the body
   * @param maxRedirects the most redirects followed (each target is checked again); 0 = none
   * @param allowHosts host names (or IP literals) fetched from whatever they resolve to, e.g. an
   *     internal image store
   * @param allowCidrs address ranges fetched from although the policy refuses them, e.g. {@code
   *     10.20.0.0/16}
   */
  public record Fetch(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("10s") @NotNull Duration timeout,
      @DefaultValue("3") @PositiveOrZero @Max(20) int maxRedirects,
      @DefaultValue @NotNull List<String> allowHosts,
      @DefaultValue @NotNull List<String> allowCidrs) {

    /** Fetching turned off (the other values are the defaults). */
    public static Fetch off() {
      return new Fetch(false, Duration.ofSeconds(10), 3, List.of(), List.of());
    }

    @AssertTrue(message = "fetch.timeout must be positive")
    boolean isTimeoutPositive() {
      return timeout == null || (!timeout.isNegative() && !timeout.isZero());
    }

    @AssertTrue(
        message = "fetch.allow-cidrs must hold address ranges such as 10.0.0.0/8 or fd00::/8")
    boolean isAllowCidrsValid() {
      if (allowCidrs == null) {
        return true;
      }
      try {
        new AddressPolicy(List.of(), allowCidrs);
        return true;
      } catch (IllegalArgumentException e) {
        return false;
      }
    }
  }
}

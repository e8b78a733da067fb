package ai.ferretstream.llm.messaging;

import ai.ferretstream.boot.kafka.ServiceName;
import ai.ferretstream.llm.config.LlmProperties;
import ai.ferretstream.llm.domain.AnswerStream;
import ai.ferretstream.llm.domain.ContextWindow;
import ai.ferretstream.llm.domain.PromptRenderer;
import ai.ferretstream.llm.domain.UsageEstimate;
import ai.ferretstream.llm.inference.GenerationRequest;
import ai.ferretstream.llm.inference.TokenSink;
import ai.ferretstream.llm.inference.TritonLlmClient;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.failure.TransientFailure;
import ai.ferretstream.proto.kafka.AnswerEvents;
import ai.ferretstream.proto.tensor.TensorBytes;
import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GenerationOptions;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Answers one fused context on a generation thread: reads the image tokens (carried, or read back
 * from the feature records the context names), renders the prompt, streams the generation and
 * publishes the answer events in order, bounded by the request's deadline.
 *
 * <p>Failures before any event was published are thrown (the {@link GenerationPool} retries
 * transient ones and tells the client about the rest); after that, a retry would repeat text, so
 * the stream ends with an error event instead.
 */
@Component
class Answerer {

  static final String TIMING_RECEIVED = "llm.received";

  /** Stage timing: the image tokens were read back from the feature records (by reference). */
  static final String TIMING_TOKENS_READ = "llm.tokens_read";

  static final String TIMING_FIRST_TOKEN = "llm.first_token";
  static final String TIMING_DONE = "llm.done";

  private static final Logger log = LoggerFactory.getLogger(Answerer.class);

  private final PromptRenderer renderer;
  private final ImageTokenSource imageTokens;
  private final TritonLlmClient client;
  private final AnswerPublisher publisher;
  private final ActiveGenerations active;
  private final LlmProperties.Llm settings;
  private final ContextWindow contextWindow;
  private final Clock clock;
  private final String service;
  private final MeterRegistry meters;
  private final Timer timeToFirstToken;
  private final Timer interToken;

  Answerer(
      PromptRenderer renderer,
      ImageTokenSource imageTokens,
      TritonLlmClient client,
      AnswerPublisher publisher,
      ActiveGenerations active,
      LlmProperties properties,
      Clock clock,
      ServiceName service,
      MeterRegistry meters) {
    this.service = service.value();
    this.meters = meters;
    this.timeToFirstToken =
        Timer.builder("ferret.llm.time.to.first.token")
            .description("From the fused context's arrival to the first generated piece")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.interToken =
        Timer.builder("ferret.llm.inter.token")
            .description("Between consecutive generated pieces of one answer")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.renderer = renderer;
    this.imageTokens = imageTokens;
    this.client = client;
    this.publisher = publisher;
    this.active = active;
    this.settings = properties.llm();
    this.contextWindow = new ContextWindow(settings.maxContextTokens());
    this.clock = clock;
  }

  /**
   * Answers {@code fused}, publishing its events and waiting for their acknowledgements.
   *
   * @throws PermanentFailure or {@link TransientFailure} when it failed before any event was sent
   */
  void answer(FusedContext fused, long receivedMillis) throws InterruptedException {
    RequestContext context =
        fused.getContext().toBuilder().putTimings(TIMING_RECEIVED, receivedMillis).build();
    answer(fused, context, context.getRequestId());
  }

  private void answer(FusedContext fused, RequestContext context, String id)
      throws InterruptedException {
    AnswerPublisher.Sends sends = publisher.sends(context);
    long now = clock.millis();
    if (AnswerEvents.expired(context, now)) {
      sends.send(
          AnswerEvents.error(
              id,
              service,
              "deadline_exceeded",
              "the request's deadline passed before generation started",
              false));
      sends.await();
      // answered (with an error): nothing reads its maps or tiles again
      imageTokens.release(fused);
      return;
    }
    GridLayout layout = fused.getLayout();
    String prompt = renderer.render(context, layout.getImageWidth(), layout.getImageHeight());
    // a conversation beyond the model's context is refused before its tokens are read
    int maxTokens;
    try {
      maxTokens =
          contextWindow.check(
              imageTokenCount(fused),
              fused.getRegionCount(),
              prompt,
              context.getOptions().getMaxTokens());
    } catch (PermanentFailure refused) {
      // refused for good (a redelivery is refused again before any read): nothing reads its maps
      // or tiles again
      imageTokens.release(fused);
      throw refused;
    }
    GenerationRequest request =
        request(
            fused, imageTokens.of(fused), prompt, Math.min(maxTokens, settings.defaultMaxTokens()));
    if (fused.getFeatureRefsCount() > 0) {
      context = context.toBuilder().putTimings(TIMING_TOKENS_READ, clock.millis()).build();
    }
    AnswerStream answer =
        new AnswerStream(
            id,
            layout,
            settings.coalesceTokens(),
            settings.coalesceTime().toMillis(),
            clock::millis);
    long limit = now + settings.maxGenerationTime().toMillis();
    long deadline =
        context.getDeadlineUnixMs() > 0 ? Math.min(context.getDeadlineUnixMs(), limit) : limit;
    Generation generation = active.start(id);
    try {
      if (generation.cancelled()) {
        sends.send(done(answer, context, request, "cancelled", 0));
      } else {
        TritonLlmClient.Call call;
        try {
          call = client.generate(request, deadline - now, generation);
        } catch (PermanentFailure refused) {
          imageTokens.release(fused); // refused before the call: a redelivery is refused again
          throw refused;
        }
        generation.attach(call);
        // the call has serialized the tensors: the stream keeps only what the answer needs
        request = request.withoutTensors();
        stream(generation, answer, sends, context, request, deadline);
      }
    } finally {
      generation.stop("generation ended");
      active.end(id, generation);
    }
    sends.await();
    // the answer is on the broker: a redelivery is a duplicate, nothing reads the maps again
    imageTokens.release(fused);
  }

  private void stream(
      Generation generation,
      AnswerStream answer,
      AnswerPublisher.Sends sends,
      RequestContext context,
      GenerationRequest request,
      long deadline)
      throws InterruptedException {
    long firstToken = 0;
    long startedNanos = System.nanoTime();
    long lastPieceNanos = 0;
    while (true) {
      long left = deadline - clock.millis();
      Generation.Event event = left > 0 ? generation.next(left) : null;
      if (event == null
          || (event instanceof Generation.Failed f
              && f.kind() == TokenSink.FailureKind.DEADLINE_EXCEEDED)) {
        generation.stop("deadline exceeded");
        generationError("deadline_exceeded");
        sends.send(answer.flush());
        sends.send(
            answer.error(
                service,
                "deadline_exceeded",
                "the answer was not complete before the request's deadline",
                false));
        return;
      }
      if (event instanceof Generation.Piece p) {
        long pieceNanos = System.nanoTime();
        if (firstToken == 0) {
          firstToken = clock.millis();
          timeToFirstToken.record(pieceNanos - startedNanos, TimeUnit.NANOSECONDS);
        } else {
          interToken.record(pieceNanos - lastPieceNanos, TimeUnit.NANOSECONDS);
        }
        lastPieceNanos = pieceNanos;
        sends.send(answer.onPiece(p.text()));
      } else if (event instanceof Generation.Final) {
        sends.send(answer.flush());
        String reason = answer.pieces() >= request.sampling().maxTokens() ? "length" : "stop";
        sends.send(done(answer, context, request, reason, firstToken));
        return;
      } else if (event instanceof Generation.Cancelled c) {
        sends.send(answer.flush());
        sends.send(done(answer, context, request, "cancelled", firstToken));
        log.debug("generation of {} cancelled: {}", context.getRequestId(), c.reason());
        return;
      } else if (event instanceof Generation.ModelError m) {
        generationError("model_error");
        fail(
            answer,
            sends,
            new PermanentFailure("inference_rejected", client.model() + ": " + m.message()));
        return;
      } else if (event instanceof Generation.Failed f) {
        generationError(f.kind().name().toLowerCase(java.util.Locale.ROOT));
        fail(answer, sends, f.failure());
        return;
      }
    }
  }

  private void generationError(String kind) {
    Counter.builder("ferret.llm.generation.errors")
        .description("Generations that ended in an error, by kind")
        .tag("kind", kind)
        .register(meters)
        .increment();
  }

  /** Before any event: throw for the error handler. After: end the stream with an error event. */
  private void fail(AnswerStream answer, AnswerPublisher.Sends sends, RuntimeException failure) {
    if (!answer.emitted()) {
      throw failure;
    }
    String code = failure instanceof PermanentFailure p ? p.code() : "stage_unavailable";
    sends.send(
        answer.error(
            service,
            code,
            "generation failed after part of the answer was sent: " + failure.getMessage(),
            failure instanceof TransientFailure));
  }

  private AnswerEvent done(
      AnswerStream answer,
      RequestContext context,
      GenerationRequest request,
      String finishReason,
      long firstToken) {
    Map<String, Long> timings = new HashMap<>(context.getTimingsMap());
    if (firstToken > 0) {
      timings.put(TIMING_FIRST_TOKEN, firstToken);
    }
    timings.put(TIMING_DONE, clock.millis());
    return answer.done(
        finishReason,
        UsageEstimate.of(request.tokens(), request.regions(), request.prompt(), answer.pieces()),
        timings,
        context.getModel().isEmpty() ? client.model() : context.getModel());
  }

  /**
   * The sampling parameters of a request. A sampled request (temperature &gt; 0) without a seed
   * gets one derived from its request id, so that generating it again after a crash of this stage
   * (its record is redelivered to another instance) samples the same answer where the model's
   * sampler honours seeds; the gateway ends a regenerated answer that still differs with {@code
   * answer_regenerated} rather than splice two answers (docs/reliability.md).
   */
  static GenerationRequest.Sampling sampling(
      GenerationOptions options, String requestId, int defaultMaxTokens) {
    Long seed = null;
    if (options.getHasSeed()) {
      seed = options.getSeed();
    } else if (options.getTemperature() > 0) {
      seed = repeatableSeed(requestId);
    }
    return new GenerationRequest.Sampling(
        options.getMaxTokens() > 0 ? options.getMaxTokens() : defaultMaxTokens,
        options.getTemperature(),
        options.getTopP() > 0 ? options.getTopP() : 1.0f,
        seed,
        options.getStopList());
  }

  /** A non-negative 63-bit seed from the first bytes of SHA-256 of the request id. */
  static long repeatableSeed(String requestId) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(digest).getLong() & Long.MAX_VALUE;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** The image tokens a fused context puts into the prompt: the global map's, then the local's. */
  static int imageTokenCount(FusedContext fused) {
    long tokens =
        (long) fused.getGlobalTokens()
            + (long) fused.getLocalTokenRows() * fused.getLocalTokenCols();
    return (int) Math.min(Integer.MAX_VALUE, tokens);
  }

  /**
   * @param defaultMaxTokens the most tokens to generate when the request leaves {@code max_tokens}
   *     at 0: the configured default, or less when the context has less left
   */
  private GenerationRequest request(
      FusedContext fused, TensorBytes imageTokens, String prompt, int defaultMaxTokens) {
    int channels = fused.getChannels();
    int globalTokens = fused.getGlobalTokens();
    int globalSide = (int) Math.round(Math.sqrt(globalTokens));
    long tokens =
        (long) globalTokens + (long) fused.getLocalTokenRows() * fused.getLocalTokenCols();
    if (channels <= 0
        || globalTokens <= 0
        || globalSide * globalSide != globalTokens
        || imageTokens.size() != tokens * channels * 2) {
      throw new PermanentFailure(
          "invalid_features",
          "image tokens of "
              + imageTokens.size()
              + " bytes do not match "
              + tokens
              + " tokens x "
              + channels
              + " channels (global "
              + globalTokens
              + ", local "
              + fused.getLocalTokenRows()
              + "x"
              + fused.getLocalTokenCols()
              + ")");
    }
    int regions = fused.getRegionCount();
    // one embedding per region of the conversation: every earlier turn's, then the question's
    if (regions != PromptRenderer.regionCount(fused.getContext())
        || fused.getRegionEmbeddingsFp16().size()
            != (long) regions * fused.getRegionChannels() * 2) {
      throw new PermanentFailure(
          "invalid_features",
          "region embeddings of "
              + fused.getRegionEmbeddingsFp16().size()
              + " bytes do not match "
              + regions
              + " regions x "
              + fused.getRegionChannels()
              + " channels");
    }
    GridLayout layout = fused.getLayout();
    int[] imageLayout = {
      globalSide,
      globalSide,
      fused.getLocalTokenRows(),
      fused.getLocalTokenCols(),
      layout.getImageWidth(),
      layout.getImageHeight()
    };
    GenerationRequest.Sampling sampling =
        sampling(
            fused.getContext().getOptions(), fused.getContext().getRequestId(), defaultMaxTokens);
    return new GenerationRequest(
        fused.getContext().getRequestId(),
        prompt,
        imageTokens,
        (int) tokens,
        channels,
        imageLayout,
        fused.getRegionEmbeddingsFp16(),
        regions,
        fused.getRegionChannels(),
        sampling);
  }
}

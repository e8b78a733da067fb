package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.proto.v1.AnswerEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Records, for one request, the serving metrics vLLM users know (same names after the prefix, same
 * meaning): {@code ferret_time_to_first_token_seconds} (accepted → first text), {@code
 * ferret_time_per_output_token_seconds} (first → last text over the completion tokens after the
 * first), {@code ferret_e2e_request_latency_seconds} and {@code
 * ferret_request_success_total{finished_reason}} (or {@code ferret_request_failure_total{code}}),
 * around the sink that answers the client; stamps {@value #ANSWERED} into the timings of the last
 * event, so that {@code ferret_timings} shows the way back from the llm too.
 */
final class MeteredAnswer implements AnswerSink {

  /** The {@code ferret_timings} key of the moment the gateway received a request's last event. */
  static final String ANSWERED = "gateway.answered";

  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
    Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
    Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)
  };

  private final AnswerSink delegate;
  private final MeterRegistry meters;
  private final long acceptedNanos;
  private long firstTextNanos;
  private long lastTextNanos;

  MeteredAnswer(AnswerSink delegate, MeterRegistry meters, long acceptedNanos) {
    this.delegate = delegate;
    this.meters = meters;
    this.acceptedNanos = acceptedNanos;
  }

  @Override
  public void event(AnswerEvent event) {
    if (event.hasDelta() && !event.getDelta().getText().isEmpty()) {
      long now = System.nanoTime();
      if (firstTextNanos == 0) {
        firstTextNanos = now;
        timer("ferret.time.to.first.token", "Time from accepting a request to its first text")
            .record(now - acceptedNanos, TimeUnit.NANOSECONDS);
      }
      lastTextNanos = now;
    }
    delegate.event(event);
  }

  @Override
  public void end(AnswerEvent event) {
    if (event.hasDone()) {
      // the last stage timing: the answer is back at the gateway (the llm stamped llm.done)
      event =
          event.toBuilder()
              .setDone(event.getDone().toBuilder().putTimings(ANSWERED, System.currentTimeMillis()))
              .build();
    }
    long now = System.nanoTime();
    timer("ferret.e2e.request.latency", "Time from accepting a request to its last event")
        .record(now - acceptedNanos, TimeUnit.NANOSECONDS);
    if (event.hasDone()) {
      int tokens = event.getDone().getUsage().getCompletionTokens();
      if (firstTextNanos > 0 && tokens > 1) {
        timer("ferret.time.per.output.token", "Mean time per output token after the first")
            .record((lastTextNanos - firstTextNanos) / (tokens - 1), TimeUnit.NANOSECONDS);
      }
      Counter.builder("ferret.request.success")
          .description("Requests answered, by finish reason")
          .tag("finished_reason", event.getDone().getFinishReason())
          .register(meters)
          .increment();
    } else {
      Counter.builder("ferret.request.failure")
          .description("Requests that ended in an error, by code")
          .tag("code", event.getError().getCode())
          .register(meters)
          .increment();
    }
    delegate.end(event);
  }

  private Timer timer(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .publishPercentiles(0.5, 0.99)
        .register(meters);
  }
}

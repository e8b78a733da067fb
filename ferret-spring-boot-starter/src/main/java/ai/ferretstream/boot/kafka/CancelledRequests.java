package ai.ferretstream.boot.kafka;

import ai.ferretstream.proto.v1.Cancel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The requests their clients cancelled, read from {@code ferret.control} by every instance for
 * itself ({@link ControlTopicListener}: a group of the instance's own, from the latest offset,
 * nothing committed). A service that honours cancellations defines one as a bean (its listener, id
 * {@value #LISTENER_ID}, then runs), asks {@link #contains} before working on a request, and
 * registers with {@link #onCancel} (or {@link #onCancelWithReason}) what to drop at once. Ids are
 * remembered in a {@link RecentIds}.
 */
public class CancelledRequests {

  /** The control listener's (container) id: {@code <spring.application.name>-control}. */
  public static final String LISTENER_ID = "${spring.application.name}-control";

  /** Ids remembered by {@link #remembering()}. */
  public static final int DEFAULT_CAPACITY = 100_000;

  /** How long {@link #remembering()} keeps an id: longer than any request's deadline. */
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(10);

  private static final Logger log = LoggerFactory.getLogger(CancelledRequests.class);

  private final RecentIds ids;
  private final List<BiConsumer<String, String>> actions = new CopyOnWriteArrayList<>();

  public CancelledRequests(RecentIds ids) {
    this.ids = ids;
  }

  /** {@value #DEFAULT_CAPACITY} ids, each kept {@link #DEFAULT_TTL}. */
  public static CancelledRequests remembering() {
    return new CancelledRequests(
        new RecentIds(DEFAULT_CAPACITY, DEFAULT_TTL, System::currentTimeMillis));
  }

  /** The listener id of a service's control listener ({@link #LISTENER_ID} resolved). */
  public static String listenerId(ServiceName service) {
    return service.value() + "-control";
  }

  /** Whether {@code requestId} was cancelled (within the memory's time and size). */
  public boolean contains(String requestId) {
    return ids.contains(requestId);
  }

  /**
   * Runs {@code action} with the id of each request cancelled from now on, on the control
   * listener's thread, after {@link #contains} says so. It must not block for long.
   */
  public void onCancel(Consumer<String> action) {
    actions.add((requestId, reason) -> action.accept(requestId));
  }

  /**
   * As {@link #onCancel}, with the reason the client gave ({@code ""} when it gave none) as the
   * action's second argument.
   */
  public void onCancelWithReason(BiConsumer<String, String> action) {
    actions.add(action);
  }

  /** Remembers {@code requestId} as cancelled, without a reason, and runs the actions. */
  public void cancel(String requestId) {
    cancel(requestId, "");
  }

  /** Remembers {@code requestId} as cancelled and runs the actions with {@code reason}. */
  public void cancel(String requestId, String reason) {
    ids.add(requestId);
    for (BiConsumer<String, String> action : actions) {
      try {
        action.accept(requestId, reason);
      } catch (RuntimeException e) {
        log.warn("could not drop the work of cancelled request {}: {}", requestId, e.toString());
      }
    }
  }

  @ControlTopicListener(id = LISTENER_ID)
  public void onMessage(ConsumerRecord<String, Cancel> record) {
    Cancel cancel = record.value();
    if (cancel == null || cancel.getRequestId().isEmpty()) {
      log.warn("ignoring a cancel without a request id");
      return;
    }
    log.debug("request {} cancelled", cancel.getRequestId());
    cancel(cancel.getRequestId(), cancel.getReason());
  }
}

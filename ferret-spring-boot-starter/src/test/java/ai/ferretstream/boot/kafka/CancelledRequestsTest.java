package ai.ferretstream.boot.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.Cancel;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class CancelledRequestsTest {

  private static ConsumerRecord<String, Cancel> cancel(String id) {
    return new ConsumerRecord<>(
        "ferret.control", 0, 0, id, Cancel.newBuilder().setRequestId(id).build());
  }

  @Test
  void remembersACancelledRequestAndRunsTheActionsAfterwards() {
    CancelledRequests cancelled = CancelledRequests.remembering();
    List<String> seen = new ArrayList<>();
    cancelled.onCancel(id -> seen.add(id + ":" + cancelled.contains(id)));
    cancelled.onCancel(
        id -> {
          throw new IllegalStateException("this one fails");
        });
    cancelled.onCancel(seen::add);

    cancelled.onMessage(cancel("a"));

    assertThat(cancelled.contains("a")).isTrue();
    assertThat(cancelled.contains("b")).isFalse();
    assertThat(seen).containsExactly("a:true", "a");
  }

  @Test
  void passesTheClientsReasonToTheActionsThatTakeIt() {
    CancelledRequests cancelled = CancelledRequests.remembering();
    List<String> seen = new ArrayList<>();
    cancelled.onCancelWithReason((id, reason) -> seen.add(id + ":" + reason));
    cancelled.onCancel(seen::add);

    cancelled.onMessage(
        new ConsumerRecord<>(
            "ferret.control",
            0,
            0,
            "a",
            Cancel.newBuilder().setRequestId("a").setReason("client left").build()));
    cancelled.onMessage(cancel("b"));
    cancelled.cancel("c");

    assertThat(seen).containsExactly("a:client left", "a", "b:", "b", "c:", "c");
  }

  @Test
  void ignoresACancelWithoutARequestId() {
    CancelledRequests cancelled = CancelledRequests.remembering();
    List<String> seen = new ArrayList<>();
    cancelled.onCancel(seen::add);

    cancelled.onMessage(cancel(""));
    cancelled.onMessage(new ConsumerRecord<>("ferret.control", 0, 1, "k", null));

    assertThat(seen).isEmpty();
    assertThat(cancelled.contains("")).isFalse();
  }

  @Test
  void theListenerIdIsTheServiceName() {
    assertThat(CancelledRequests.listenerId(new ServiceName("tiler-service")))
        .isEqualTo("tiler-service-control");
  }
}

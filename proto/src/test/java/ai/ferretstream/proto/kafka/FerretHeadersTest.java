package ai.ferretstream.proto.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.ReplyTo;
import ai.ferretstream.proto.v1.RequestContext;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class FerretHeadersTest {

  @Test
  void stampsEveryPipelineHeaderFromTheContext() {
    RecordHeaders headers = new RecordHeaders();
    RequestContext context =
        RequestContext.newBuilder()
            .setRequestId("req-1")
            .setDeadlineUnixMs(1_700_000_000_123L)
            .setReplyTo(ReplyTo.newBuilder().setTopic("ferret.answers").setPartition(3))
            .build();

    FerretHeaders.stamp(headers, context, "ferret.v1.FusedContext", "fusion-service");

    assertThat(FerretHeaders.get(headers, FerretHeaders.REQUEST_ID)).isEqualTo("req-1");
    assertThat(FerretHeaders.get(headers, FerretHeaders.VALUE_TYPE))
        .isEqualTo("ferret.v1.FusedContext");
    assertThat(FerretHeaders.get(headers, FerretHeaders.PRODUCER)).isEqualTo("fusion-service");
    assertThat(FerretHeaders.get(headers, FerretHeaders.DEADLINE)).isEqualTo("1700000000123");
    assertThat(FerretHeaders.get(headers, FerretHeaders.REPLY_PARTITION)).isEqualTo("3");
  }

  @Test
  void leavesOutTheDeadlineAndReplyPartitionAContextDoesNotHave() {
    RecordHeaders headers = new RecordHeaders();
    FerretHeaders.stamp(
        headers, RequestContext.newBuilder().setRequestId("req-2").build(), "t", "p");

    assertThat(FerretHeaders.get(headers, FerretHeaders.REQUEST_ID)).isEqualTo("req-2");
    assertThat(headers.lastHeader(FerretHeaders.DEADLINE)).isNull();
    assertThat(headers.lastHeader(FerretHeaders.REPLY_PARTITION)).isNull();
  }
}

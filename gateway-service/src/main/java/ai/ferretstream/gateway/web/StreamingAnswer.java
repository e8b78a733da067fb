package ai.ferretstream.gateway.web;

import ai.ferretstream.gateway.domain.AnswerSink;
import ai.ferretstream.proto.v1.AnswerEvent;

/**
 * Streams one request's answer as server-sent events: the role chunk, a chunk per text delta and
 * per box, then the finish chunk, the usage chunk when asked, and {@code [DONE]}; an error event
 * becomes {@code data: {"error":...}} and {@code [DONE]}.
 */
final class StreamingAnswer implements AnswerSink {

  private final ClientConnection connection;
  private final OrderedWriter writer;
  private final ChunkFormat chunks;
  private final boolean includeUsage;

  StreamingAnswer(
      ClientConnection connection, OrderedWriter writer, ChunkFormat chunks, boolean includeUsage) {
    this.connection = connection;
    this.writer = writer;
    this.chunks = chunks;
    this.includeUsage = includeUsage;
    writer.submit(() -> connection.write(chunks.roleChunk()));
  }

  @Override
  public void event(AnswerEvent event) {
    switch (event.getEventCase()) {
      case DELTA -> {
        if (!event.getDelta().getText().isEmpty()) {
          writer.submit(() -> connection.write(chunks.contentChunk(event.getDelta().getText())));
        }
      }
      case BOX -> writer.submit(() -> connection.write(chunks.boxChunk(event.getBox())));
      default -> {
        // nothing else is streamed
      }
    }
  }

  @Override
  public void end(AnswerEvent event) {
    writer.submit(
        () -> {
          if (event.hasDone()) {
            connection.write(chunks.finishChunk(event.getDone().getFinishReason()));
            if (includeUsage) {
              connection.write(
                  chunks.usageChunk(event.getDone().getUsage(), event.getDone().getTimingsMap()));
            }
          } else {
            connection.write(
                chunks.errorEvent(ErrorCodes.status(event.getError()), event.getError()));
          }
          connection.write(ChunkFormat.DONE);
          connection.complete();
        });
  }
}

package ai.ferretstream.proto.triton;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;

/**
 * A gRPC marshaller for messages with large {@code bytes} fields (tensors): it reads a received
 * message into one array and parses it with aliasing, so each tensor is copied once out of the
 * transport's buffers. The stock protobuf marshaller copies a large message in chunks and then
 * every {@code bytes} field again ({@code ByteString.copyFrom}), and so allocates each multi-MB
 * tensor two or three times. Sending is the stock marshaller's (it writes the message straight into
 * the transport's buffers).
 *
 * <p>The parsed message's {@code bytes} fields are views of that one array, which nothing else
 * holds or writes.
 */
public final class AliasingMarshaller<T extends Message>
    implements MethodDescriptor.PrototypeMarshaller<T> {

  private final MethodDescriptor.PrototypeMarshaller<T> stock;
  private final Parser<T> parser;

  @SuppressWarnings("unchecked")
  public AliasingMarshaller(T defaultInstance) {
    this.stock = (MethodDescriptor.PrototypeMarshaller<T>) ProtoUtils.marshaller(defaultInstance);
    this.parser = (Parser<T>) defaultInstance.getParserForType();
  }

  @Override
  public Class<T> getMessageClass() {
    return stock.getMessageClass();
  }

  @Override
  public T getMessagePrototype() {
    return stock.getMessagePrototype();
  }

  @Override
  public InputStream stream(T value) {
    return stock.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    try {
      byte[] bytes;
      if (stream instanceof KnownLength) {
        // straight into one array of the message's size (readNBytes(n) would read into chunks
        // and copy them into the result)
        bytes = new byte[stream.available()];
        int read = stream.readNBytes(bytes, 0, bytes.length);
        if (read != bytes.length) {
          throw new IOException("message ended after " + read + " of " + bytes.length + " bytes");
        }
      } else {
        bytes = stream.readAllBytes();
      }
      CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
      in.enableAliasing(true);
      in.setSizeLimit(Integer.MAX_VALUE);
      return parser.parseFrom(in);
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL
          .withDescription("invalid protobuf message: " + e.getMessage())
          .withCause(e)
          .asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL
          .withDescription("could not read the message: " + e.getMessage())
          .withCause(e)
          .asRuntimeException();
    }
  }
}

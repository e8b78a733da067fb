package ai.ferretstream.boot.inference;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.inference.GRPCInferenceServiceGrpc;
import ai.ferretstream.proto.inference.ServerLiveRequest;
import ai.ferretstream.proto.inference.ServerLiveResponse;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Calls spread over Triton replicas: {@code round_robin} uses every address the target resolves to,
 * and periodic re-resolution picks up a replica added later (what a GPU autoscaler does). A test
 * name resolver stands in for a Kubernetes headless Service's DNS records.
 */
class TritonChannelBalancingTest {

  /** A replica: answers ServerLive and counts the calls. */
  static final class Replica extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
    final AtomicInteger calls = new AtomicInteger();
    final Server server;

    Replica() throws Exception {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .addService(this)
              .build()
              .start();
    }

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
      calls.incrementAndGet();
      out.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
      out.onCompleted();
    }

    SocketAddress address() {
      return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getPort());
    }
  }

  /** Resolves {@code replicas:///any} to the current replica addresses, on every resolution. */
  static final class ReplicasResolver extends NameResolverProvider {
    final List<SocketAddress> addresses = new CopyOnWriteArrayList<>();
    final AtomicInteger resolutions = new AtomicInteger();

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!"replicas".equals(target.getScheme())) {
        return null;
      }
      return new NameResolver() {
        Listener2 listener;

        @Override
        public String getServiceAuthority() {
          return "replicas";
        }

        @Override
        public void start(Listener2 listener) {
          this.listener = listener;
          resolve();
        }

        @Override
        public void refresh() {
          resolve();
        }

        private void resolve() {
          resolutions.incrementAndGet();
          List<EquivalentAddressGroup> groups = new ArrayList<>();
          for (SocketAddress a : addresses) {
            groups.add(new EquivalentAddressGroup(a));
          }
          if (groups.isEmpty()) {
            listener.onError(Status.UNAVAILABLE.withDescription("no replicas"));
          } else {
            listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).build());
          }
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return "replicas";
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    public java.util.Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }
  }

  private final List<Replica> replicas = new ArrayList<>();
  private final ReplicasResolver resolver = new ReplicasResolver();
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Replica r : replicas) {
      r.server.shutdownNow();
    }
    NameResolverRegistry.getDefaultRegistry().deregister(resolver);
  }

  private Replica replica() throws Exception {
    Replica r = new Replica();
    replicas.add(r);
    return r;
  }

  private void call(int times) {
    var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
    for (int i = 0; i < times; i++) {
      assertThat(
              stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                  .serverLive(ServerLiveRequest.getDefaultInstance())
                  .getLive())
          .isTrue();
    }
  }

  @Test
  void roundRobinSpreadsCallsAndReResolutionAddsANewReplica() throws Exception {
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    Replica a = replica();
    Replica b = replica();
    resolver.addresses.addAll(List.of(a.address(), b.address()));
    channel =
        TritonChannels.create(
            "replicas:///triton",
            4 << 20,
            Duration.ofSeconds(30),
            3,
            new TritonChannels.Balancing("round_robin", Duration.ofMillis(200)));

    call(40);
    assertThat(a.calls.get()).isBetween(10, 30);
    assertThat(b.calls.get()).isBetween(10, 30);

    // the autoscaler adds a replica: the next resolution includes it
    Replica c = replica();
    resolver.addresses.add(c.address());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (c.calls.get() == 0 && System.nanoTime() < deadline) {
      call(3);
      Thread.sleep(50);
    }
    assertThat(c.calls.get()).as("calls reaching the added replica").isPositive();
    assertThat(resolver.resolutions.get()).isGreaterThan(1);
  }

  @Test
  void pickFirstUsesOneConnectionAndRefusesUnknownPolicies() throws Exception {
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    Replica a = replica();
    Replica b = replica();
    resolver.addresses.addAll(List.of(a.address(), b.address()));
    channel = TritonChannels.create("replicas:///triton", 4 << 20, Duration.ofSeconds(30), 3);

    call(20);
    assertThat(List.of(a.calls.get(), b.calls.get())).containsExactlyInAnyOrder(20, 0);

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new TritonChannels.Balancing("least_request", Duration.ZERO))
        .hasMessageContaining("pick_first or round_robin");
  }
}

package ai.ferretstream.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The cost of moving feature-sized tensors on this machine, without the pipeline: what any design
 * that passes the maps over a socket pays at least.
 *
 * <ol>
 *   <li><b>loopback</b>: one 1.18 MB message (one tile's features, {@code [576, 1024]} FP16) and an
 *       8-byte reply over a loopback TCP connection, heap buffers on both ends (as Kafka's and
 *       Netty's heap paths use them);
 *   <li><b>kafka</b>: a request's six local feature maps (6 x 1.18 MB) produced to one partition of
 *       a scratch topic with the pipeline's producer settings ({@code acks=all}, idempotence, no
 *       linger), until the broker acknowledged all six; also when the first was acknowledged.
 *       {@code --producers N} spreads the six over N producers (N connections).
 * </ol>
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar ai.ferretstream.bench.TransportFloor \
 *       [--bootstrap localhost:9092] [--rounds 300] [--producers 1]
 * </pre>
 *
 * With {@code --bootstrap}, the Kafka part runs against that broker (e.g. {@code ./ferret up}'s,
 * idle); without it only the loopback part runs. Prints nearest-rank p50 and p90 in ms after 50
 * unmeasured rounds.
 */
public final class TransportFloor {

  private static final int MAP_BYTES = 576 * 1024 * 2;
  private static final int MAPS = 6;
  private static final int WARMUP = 50;

  private TransportFloor() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = null;
    int rounds = 300;
    int producers = 1;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[i + 1];
        case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
        case "--producers" -> producers = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    byte[] map = new byte[MAP_BYTES];
    new Random(7).nextBytes(map);
    report("loopback: one 1.18 MB message and its reply", loopback(map, rounds));
    if (bootstrap != null) {
      long[][] kafka = kafka(bootstrap, map, rounds, producers);
      String by = producers + " producer" + (producers == 1 ? "" : "s");
      report("kafka: first of 6 x 1.18 MB acknowledged, " + by, kafka[0]);
      report("kafka: all 6 x 1.18 MB acknowledged, " + by, kafka[1]);
    }
  }

  private static long[] loopback(byte[] map, int rounds) throws IOException, InterruptedException {
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress("127.0.0.1", 0));
      Thread echo =
          new Thread(
              () -> {
                try (SocketChannel c = server.accept()) {
                  ByteBuffer in = ByteBuffer.allocate(map.length);
                  ByteBuffer reply = ByteBuffer.allocate(8);
                  while (true) {
                    in.clear();
                    while (in.hasRemaining()) {
                      if (c.read(in) < 0) {
                        return;
                      }
                    }
                    reply.clear();
                    while (reply.hasRemaining()) {
                      c.write(reply);
                    }
                  }
                } catch (IOException e) {
                  // the client closed
                }
              },
              "loopback-echo");
      echo.setDaemon(true);
      echo.start();
      long[] times = new long[rounds];
      try (SocketChannel c = SocketChannel.open(server.getLocalAddress())) {
        ByteBuffer reply = ByteBuffer.allocate(8);
        for (int i = 0; i < WARMUP + rounds; i++) {
          long start = System.nanoTime();
          ByteBuffer out = ByteBuffer.wrap(map.clone());
          while (out.hasRemaining()) {
            c.write(out);
          }
          reply.clear();
          while (reply.hasRemaining()) {
            c.read(reply);
          }
          if (i >= WARMUP) {
            times[i - WARMUP] = System.nanoTime() - start;
          }
        }
      }
      echo.join(1000);
      return times;
    }
  }

  private static long[][] kafka(String bootstrap, byte[] map, int rounds, int producerCount)
      throws Exception {
    String topic = "bench.transport-floor";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      if (!admin.listTopics().names().get().contains(topic)) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(topic, 1, (short) 1)
                        .configs(Map.of("max.message.bytes", Integer.toString(16 << 20)))))
            .all()
            .get();
      }
    }
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 << 20);
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L << 20);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.SEND_BUFFER_CONFIG, -1);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    long[] first = new long[rounds];
    long[] all = new long[rounds];
    List<KafkaProducer<String, byte[]>> producers = new ArrayList<>();
    for (int p = 0; p < producerCount; p++) {
      producers.add(new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer()));
    }
    try {
      for (int i = 0; i < WARMUP + rounds; i++) {
        long start = System.nanoTime();
        List<Future<RecordMetadata>> acks = new ArrayList<>(MAPS);
        for (int k = 0; k < MAPS; k++) {
          // a fresh array per record, as a serializer makes one; the maps round-robin over the
          // producers (each its own connection, which the broker serves one request at a time)
          acks.add(
              producers
                  .get(k % producerCount)
                  .send(new ProducerRecord<>(topic, 0, "r" + i, map.clone())));
        }
        acks.get(0).get();
        long firstAt = System.nanoTime();
        for (Future<RecordMetadata> ack : acks) {
          ack.get();
        }
        if (i >= WARMUP) {
          first[i - WARMUP] = firstAt - start;
          all[i - WARMUP] = System.nanoTime() - start;
        }
        Thread.sleep(10);
      }
    } finally {
      producers.forEach(KafkaProducer::close);
    }
    return new long[][] {first, all};
  }

  private static void report(String what, long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    System.out.printf(
        Locale.ROOT,
        "%-55s p50 %6.2f ms  p90 %6.2f ms  (%d rounds)%n",
        what,
        sorted[(int) Math.ceil(0.5 * sorted.length) - 1] / 1e6,
        sorted[(int) Math.ceil(0.9 * sorted.length) - 1] / 1e6,
        sorted.length);
  }
}

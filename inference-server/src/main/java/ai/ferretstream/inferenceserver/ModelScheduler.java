package ai.ferretstream.inferenceserver;

import ai.ferretstream.inferenceserver.ModelBackend.ResponseSink;
import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelDynamicBatching;
import ai.ferretstream.proto.inference.ModelInstanceGroup;
import ai.ferretstream.proto.inference.ModelOutput;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Queues the requests of one model version and runs them on at most {@code instance_group count}
 * concurrent executions (ONNX Runtime sessions are thread-safe).
 *
 * <p>With {@code dynamic_batching} on a batching ({@code max_batch_size > 0}), non-decoupled model,
 * a dispatcher thread waits for a free instance, then forms a batch from the queue in arrival
 * order: the oldest request and the following requests whose inputs are compatible (same inputs,
 * datatypes and non-batch dimensions), never splitting a request, up to {@code max_batch_size}
 * rows. It launches the batch at once when it is full, when the next compatible request does not
 * fit, or when it can launch one of the {@code preferred_batch_size}s (the largest it can form);
 * otherwise it waits until the oldest request has been queued for {@code
 * max_queue_delay_microseconds} and launches what it has. The inputs are joined along dimension 0,
 * the model runs once, and the outputs are split back by each request's rows. {@code
 * default_queue_policy.max_queue_size > 0} bounds the waiting requests: one more is refused with
 * RESOURCE_EXHAUSTED. Without {@code dynamic_batching}, every request runs alone, in arrival order.
 *
 * <p>A request cancelled while queued (client gone, deadline passed) is removed and never run.
 */
final class ModelScheduler implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ModelScheduler.class);

  /** How long {@link #close} waits for running executions. */
  static final long CLOSE_WAIT_SECONDS = 10;

  /** The scheduling settings of a model configuration. */
  record Settings(
      boolean batching,
      int maxBatchSize,
      long maxQueueDelayNs,
      TreeSet<Integer> preferredBatchSizes,
      int maxQueueSize,
      int instances) {

    static Settings of(ModelConfig config) {
      boolean dynamic = config.hasDynamicBatching();
      ModelDynamicBatching db = config.getDynamicBatching();
      int max = Math.max(0, config.getMaxBatchSize());
      boolean batching = dynamic && max > 0 && !ModelConfigs.decoupled(config);
      TreeSet<Integer> preferred = new TreeSet<>();
      for (int p : db.getPreferredBatchSizeList()) {
        if (p > 0 && p <= max) {
          preferred.add(p);
        }
      }
      long delayNs =
          TimeUnit.MICROSECONDS.toNanos(
              Math.min(db.getMaxQueueDelayMicroseconds(), 3_600_000_000L));
      int maxQueue = dynamic ? db.getDefaultQueuePolicy().getMaxQueueSize() : 0;
      return new Settings(
          batching, max, delayNs, preferred, Math.max(0, maxQueue), instances(config));
    }

    /** Total instances over the instance groups (a group's count defaults to 1; no group: 1). */
    static int instances(ModelConfig config) {
      int n = 0;
      for (ModelInstanceGroup g : config.getInstanceGroupList()) {
        n += g.getCount() > 0 ? g.getCount() : 1;
      }
      return Math.max(1, n);
    }
  }

  /** What happens when a request is done: {@code failure} is null on success. */
  interface Completion {
    void completed(InferenceException failure);
  }

  /** One request waiting for or in an execution. */
  static final class Request {
    private static final int QUEUED = 0;
    private static final int TAKEN = 1;
    private static final int REMOVED = 2;

    final InferInputs inputs;
    final List<String> outputs;
    final long arrivalNs;
    final long decodeNs;
    final ResponseSink sink;
    final Completion completion;
    final String signature;
    private final AtomicInteger state = new AtomicInteger(QUEUED);
    private long enqueuedNs;

    /**
     * @param inputs validated inputs
     * @param outputs the outputs to return, in response order
     * @param arrivalNs when the request reached the server ({@link System#nanoTime()})
     * @param decodeNs time spent decoding and validating it
     * @param sink where its responses go; {@code cancelled()} is checked while it waits
     * @param completion called exactly once, after its last response
     */
    Request(
        InferInputs inputs,
        List<String> outputs,
        long arrivalNs,
        long decodeNs,
        ResponseSink sink,
        Completion completion) {
      this.inputs = inputs;
      this.outputs = List.copyOf(outputs);
      this.arrivalNs = arrivalNs;
      this.decodeNs = decodeNs;
      this.sink = sink;
      this.completion = completion;
      this.signature = TensorBatches.signature(inputs);
    }

    int rows() {
      return inputs.batchSize();
    }
  }

  private final String model;
  private final Settings settings;
  private final ModelBackend backend;
  private final StatsRecorder stats;
  private final List<String> outputOrder;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Request> queue = new ArrayDeque<>();
  private final Semaphore idleInstances;
  private final ExecutorService instances;
  private final Thread dispatcher;
  private boolean closed;

  /**
   * @param model the name used in messages and thread names ("model version N")
   */
  ModelScheduler(String model, ModelConfig config, ModelBackend backend, StatsRecorder stats) {
    this.model = model;
    this.settings = Settings.of(config);
    this.backend = backend;
    this.stats = stats;
    this.outputOrder = config.getOutputList().stream().map(ModelOutput::getName).toList();
    this.idleInstances = new Semaphore(settings.instances());
    String prefix = "model-" + config.getName() + "-";
    AtomicInteger n = new AtomicInteger();
    this.instances =
        Executors.newFixedThreadPool(
            settings.instances(), r -> daemon(r, prefix + "instance-" + n.incrementAndGet()));
    this.dispatcher = daemon(this::dispatch, prefix + "scheduler");
    dispatcher.start();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Requests waiting in the queue (not yet in an execution). */
  int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Queues a request (unless {@link #cancel} has already completed it).
   *
   * @throws InferenceException RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE when closing
   *     (the refusal is recorded as a failure)
   */
  void submit(Request request) {
    InferenceException refused = null;
    lock.lock();
    try {
      if (request.state.get() != Request.QUEUED) {
        return; // cancelled before it was queued; already completed
      }
      if (closed) {
        refused = new InferenceException(Status.Code.UNAVAILABLE, "the server is shutting down");
      } else if (settings.maxQueueSize() > 0 && queue.size() >= settings.maxQueueSize()) {
        refused =
            new InferenceException(
                Status.Code.RESOURCE_EXHAUSTED,
                model
                    + " is overloaded: "
                    + queue.size()
                    + " requests are already queued, the limit set by"
                    + " dynamic_batching.default_queue_policy.max_queue_size; retry later");
      } else {
        request.enqueuedNs = System.nanoTime();
        queue.addLast(request);
        changed.signalAll();
      }
      if (refused != null) {
        request.state.set(Request.REMOVED);
      }
    } finally {
      lock.unlock();
    }
    if (refused != null) {
      stats.failure(System.nanoTime() - request.arrivalNs);
      throw refused;
    }
  }

  /**
   * Removes a request that is still queued and completes it with {@code reason}; does nothing once
   * it has been taken into an execution.
   *
   * @return whether it was removed
   */
  boolean cancel(Request request, InferenceException reason) {
    lock.lock();
    try {
      if (!request.state.compareAndSet(Request.QUEUED, Request.REMOVED)) {
        return false;
      }
      queue.remove(request);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    fail(request, reason);
    return true;
  }

  private void dispatch() {
    try {
      while (true) {
        idleInstances.acquire();
        List<Request> batch = nextBatch();
        if (batch == null) {
          return;
        }
        try {
          instances.execute(
              () -> {
                try {
                  run(batch);
                } finally {
                  idleInstances.release();
                }
              });
        } catch (RejectedExecutionException e) {
          idleInstances.release();
          for (Request r : batch) {
            fail(r, new InferenceException(Status.Code.UNAVAILABLE, "the server is shutting down"));
          }
          return;
        }
      }
    } catch (InterruptedException e) {
      // closing
    } catch (RuntimeException | Error e) {
      log.error("scheduler of {} stopped unexpectedly", model, e);
    }
  }

  /** The next batch to run, waiting as the settings say; null once closed. */
  private List<Request> nextBatch() throws InterruptedException {
    while (true) {
      List<Request> dropped = new ArrayList<>();
      List<Request> batch = null;
      lock.lock();
      try {
        if (closed) {
          return null;
        }
        for (Iterator<Request> it = queue.iterator(); it.hasNext(); ) {
          Request r = it.next();
          if (r.sink.cancelled() && r.state.compareAndSet(Request.QUEUED, Request.REMOVED)) {
            it.remove();
            dropped.add(r);
          }
        }
        if (dropped.isEmpty()) {
          if (queue.isEmpty()) {
            changed.await();
          } else {
            Plan plan = settings.batching() ? plan() : new Plan(List.of(queue.peekFirst()), 0);
            if (plan.waitNs() > 0) {
              changed.awaitNanos(plan.waitNs());
            } else {
              batch = List.copyOf(plan.requests());
              for (Request r : batch) {
                queue.remove(r);
                r.state.set(Request.TAKEN);
              }
            }
          }
        }
      } finally {
        lock.unlock();
      }
      for (Request r : dropped) {
        fail(r, cancelledWhileQueued());
      }
      if (batch != null) {
        return batch;
      }
    }
  }

  /** A batch to launch now ({@code waitNs <= 0}) or how long to wait for a better one. */
  private record Plan(List<Request> requests, long waitNs) {}

  private Plan plan() {
    Request head = queue.peekFirst();
    List<Request> picked = new ArrayList<>();
    picked.add(head);
    int rows = head.rows();
    int preferredEnd = settings.preferredBatchSizes().contains(rows) ? 1 : 0;
    boolean full = rows >= settings.maxBatchSize();
    Iterator<Request> it = queue.iterator();
    it.next();
    while (!full && it.hasNext()) {
      Request r = it.next();
      if (!r.signature.equals(head.signature)) {
        continue; // waits for a batch of its own kind; the oldest request always goes first
      }
      if (rows + r.rows() > settings.maxBatchSize()) {
        full = true;
        break;
      }
      picked.add(r);
      rows += r.rows();
      if (settings.preferredBatchSizes().contains(rows)) {
        preferredEnd = picked.size();
      }
      full = rows >= settings.maxBatchSize();
    }
    if (rows >= settings.maxBatchSize()) {
      return new Plan(picked, 0);
    }
    if (preferredEnd > 0) {
      return new Plan(picked.subList(0, preferredEnd), 0);
    }
    long waitNs = head.enqueuedNs + settings.maxQueueDelayNs() - System.nanoTime();
    return new Plan(picked, full ? 0 : waitNs);
  }

  private InferenceException cancelledWhileQueued() {
    return new InferenceException(
        Status.Code.CANCELLED,
        "the request was cancelled while queued for " + model + "; it was not run");
  }

  private void fail(Request r, InferenceException reason) {
    stats.failure(System.nanoTime() - r.arrivalNs);
    complete(r, reason);
  }

  private void complete(Request r, InferenceException failure) {
    try {
      r.completion.completed(failure);
    } catch (RuntimeException e) {
      log.warn("completing a request of {} failed", model, e);
    }
  }

  /** Runs one batch on this thread (an instance) and completes its requests. */
  private void run(List<Request> batch) {
    try {
      if (batch.size() == 1) {
        runAlone(batch.get(0));
      } else {
        runBatch(batch);
      }
    } catch (RuntimeException | Error e) {
      InferenceException failure =
          e instanceof InferenceException ie
              ? ie
              : new InferenceException(Status.Code.INTERNAL, "internal error: " + e, e);
      if (!(e instanceof InferenceException)) {
        log.error("execution of {} failed unexpectedly", model, e);
      }
      for (Request r : batch) {
        fail(r, failure);
      }
    }
  }

  /** One request: its own sink receives the model's responses (decoupled models stream them). */
  private void runAlone(Request r) {
    long start = System.nanoTime();
    long[] sendNs = new long[1];
    backend.execute(
        r.inputs,
        r.outputs,
        new ResponseSink() {
          @Override
          public void send(List<Tensor> outputs, boolean last) {
            long t = System.nanoTime();
            r.sink.send(outputs, last);
            sendNs[0] += System.nanoTime() - t;
          }

          @Override
          public boolean cancelled() {
            return r.sink.cancelled();
          }
        });
    long end = System.nanoTime();
    long inferNs = end - start - sendNs[0];
    stats.execution(r.rows(), r.decodeNs, inferNs, sendNs[0]);
    stats.success(
        r.rows(), start - r.enqueuedNs, r.decodeNs, inferNs, sendNs[0], end - r.arrivalNs);
    complete(r, null);
  }

  /** Several requests joined along dimension 0: one execution, outputs split back by rows. */
  private void runBatch(List<Request> batch) {
    long start = System.nanoTime();
    List<InferInputs> parts = new ArrayList<>(batch.size());
    Set<String> wanted = new LinkedHashSet<>();
    long decodeNs = 0;
    int[] rows = new int[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      Request r = batch.get(i);
      parts.add(r.inputs);
      wanted.addAll(r.outputs);
      decodeNs += r.decodeNs;
      rows[i] = r.rows();
    }
    InferInputs joined = TensorBatches.concat(parts);
    List<String> outputs = outputOrder.stream().filter(wanted::contains).toList();
    long inferStart = System.nanoTime();
    AtomicReference<List<Tensor>> result = new AtomicReference<>();
    backend.execute(
        joined,
        outputs,
        new ResponseSink() {
          @Override
          public void send(List<Tensor> tensors, boolean last) {
            result.set(tensors);
          }

          @Override
          public boolean cancelled() {
            return batch.stream().allMatch(r -> r.sink.cancelled());
          }
        });
    long inferEnd = System.nanoTime();
    if (result.get() == null) {
      throw new InferenceException(Status.Code.INTERNAL, model + " produced no response");
    }
    List<Map<String, Tensor>> split = TensorBatches.split(result.get(), rows);
    for (int i = 0; i < batch.size(); i++) {
      Request r = batch.get(i);
      Map<String, Tensor> mine = split.get(i);
      r.sink.send(r.outputs.stream().map(mine::get).toList(), true);
    }
    long end = System.nanoTime();
    long assembleNs = inferStart - start;
    long inferNs = inferEnd - inferStart;
    long outputNs = end - inferEnd;
    stats.execution(joined.batchSize(), decodeNs + assembleNs, inferNs, outputNs);
    for (Request r : batch) {
      stats.success(
          r.rows(),
          start - r.enqueuedNs,
          r.decodeNs + assembleNs,
          inferNs,
          outputNs,
          end - r.arrivalNs);
    }
    for (Request r : batch) {
      complete(r, null);
    }
  }

  /**
   * Refuses new requests, fails the queued ones with UNAVAILABLE and waits (up to {@value
   * #CLOSE_WAIT_SECONDS} s) for running executions.
   *
   * @return whether every execution has finished (only then may the backend be closed)
   */
  boolean shutdown() {
    List<Request> waiting;
    lock.lock();
    try {
      closed = true;
      waiting = new ArrayList<>(queue);
      queue.clear();
      for (Request r : waiting) {
        r.state.set(Request.REMOVED);
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Request r : waiting) {
      fail(r, new InferenceException(Status.Code.UNAVAILABLE, "the server is shutting down"));
    }
    dispatcher.interrupt();
    instances.shutdown();
    try {
      dispatcher.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
      return instances.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    shutdown();
  }
}

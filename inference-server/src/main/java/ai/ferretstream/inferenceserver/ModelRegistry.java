package ai.ferretstream.inferenceserver;

import ai.ferretstream.proto.inference.ModelConfig;
import ai.ferretstream.proto.inference.ModelVersionPolicy;
import ai.onnxruntime.OrtEnvironment;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of one Triton-layout repository ({@code <repo>/<model>/config.pbtxt}, {@code
 * <repo>/<model>/<version>/model.onnx}) and their load state. The server is ready only when every
 * model version has loaded.
 */
final class ModelRegistry implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);

  /** Load state, with Triton's names. */
  enum State {
    LOADING,
    READY,
    UNAVAILABLE
  }

  /** One model version. */
  static final class Slot {
    final String name;
    final String version;
    final ModelConfig config;
    final Path versionDir;
    final StatsRecorder stats = new StatsRecorder();
    private volatile State state;
    private volatile String reason;
    private volatile ModelBackend backend;
    private volatile ModelScheduler scheduler;

    Slot(
        String name,
        String version,
        ModelConfig config,
        Path versionDir,
        State state,
        String reason) {
      this.name = name;
      this.version = version;
      this.config = config;
      this.versionDir = versionDir;
      this.state = state;
      this.reason = reason;
    }

    State state() {
      return state;
    }

    String reason() {
      return reason;
    }

    ModelBackend backend() {
      return backend;
    }

    /** Queues and runs this version's requests; null until loaded. */
    ModelScheduler scheduler() {
      return scheduler;
    }

    boolean decoupled() {
      return ModelConfigs.decoupled(config);
    }

    void ready(ModelBackend loaded) {
      backend = loaded;
      scheduler = new ModelScheduler(describe(), config, loaded, stats);
      reason = "";
      state = State.READY;
    }

    /** "model 'x' version 'n'", for messages. */
    String describe() {
      return "model '" + name + "' version '" + version + "'";
    }

    void failed(String why) {
      reason = why;
      state = State.UNAVAILABLE;
    }
  }

  /** Creates the backend of a model version. */
  interface Loader {
    ModelBackend load(ModelConfig config, Path versionDir);
  }

  private final Map<String, List<Slot>> models;
  private volatile boolean loading = true;
  private volatile boolean closed;

  ModelRegistry(Map<String, List<Slot>> models) {
    this.models = new ConcurrentHashMap<>(models);
  }

  /**
   * Scans a repository: every sub-directory is a model; configuration problems make that model
   * UNAVAILABLE with the reason (they do not stop the scan).
   *
   * @throws IOException when the repository cannot be listed
   */
  static ModelRegistry scan(Path repository) throws IOException {
    if (!Files.isDirectory(repository)) {
      throw new IOException("model repository " + repository + " is not a directory");
    }
    Map<String, List<Slot>> models = new TreeMap<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(repository, Files::isDirectory)) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString();
        if (name.startsWith(".")) {
          continue;
        }
        models.put(name, slots(name, dir));
      }
    }
    return new ModelRegistry(models);
  }

  private static List<Slot> slots(String name, Path dir) throws IOException {
    ModelConfig config;
    try {
      config = ModelConfigs.read(dir);
      ModelConfigs.kind(config);
    } catch (IllegalArgumentException e) {
      ModelConfig stub = ModelConfig.newBuilder().setName(name).build();
      return List.of(new Slot(name, "", stub, dir, State.UNAVAILABLE, e.getMessage()));
    }
    List<Long> present = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      entries
          .filter(Files::isDirectory)
          .map(p -> p.getFileName().toString())
          .filter(s -> s.matches("[0-9]{1,18}"))
          .forEach(s -> present.add(Long.parseLong(s)));
    }
    present.sort(Comparator.naturalOrder());
    if (present.isEmpty() && ModelConfigs.kind(config) == ModelConfigs.Kind.JAVA) {
      present.add(1L); // a Java model needs no files; it is served as version 1
    }
    List<Long> selected;
    try {
      selected = select(config.getVersionPolicy(), present);
    } catch (IllegalArgumentException e) {
      return List.of(new Slot(name, "", config, dir, State.UNAVAILABLE, e.getMessage()));
    }
    if (selected.isEmpty()) {
      return List.of(
          new Slot(
              name,
              "",
              config,
              dir,
              State.UNAVAILABLE,
              "no version directory (e.g. " + dir.resolve("1") + ") found"));
    }
    List<Slot> slots = new ArrayList<>();
    for (long v : selected) {
      String version = Long.toString(v);
      slots.add(new Slot(name, version, config, dir.resolve(version), State.LOADING, ""));
    }
    return slots;
  }

  /** Versions to serve under a Triton version policy (default: the latest one). */
  static List<Long> select(ModelVersionPolicy policy, List<Long> present) {
    return switch (policy.getPolicyChoiceCase()) {
      case ALL -> present;
      case SPECIFIC -> {
        Set<Long> wanted = new LinkedHashSet<>(policy.getSpecific().getVersionsList());
        List<Long> missing = wanted.stream().filter(v -> !present.contains(v)).toList();
        if (!missing.isEmpty()) {
          throw new IllegalArgumentException(
              "version_policy names version(s) " + missing + " that have no directory");
        }
        yield wanted.stream().sorted().toList();
      }
      case LATEST, POLICYCHOICE_NOT_SET -> {
        int n = policy.getLatest().getNumVersions() > 0 ? policy.getLatest().getNumVersions() : 1;
        yield present.subList(Math.max(0, present.size() - n), present.size());
      }
    };
  }

  /** Loads every LOADING slot in turn; returns the failures as "model version: reason". */
  List<String> loadAll(Loader loader) {
    List<String> failures = new ArrayList<>();
    for (Slot slot : allSlots()) {
      if (slot.state() == State.LOADING) {
        try {
          long t0 = System.nanoTime();
          ModelBackend backend = loader.load(slot.config, slot.versionDir);
          if (closed) {
            backend.close();
            break;
          }
          slot.ready(backend);
          log.info(
              "loaded model {} version {} ({}) in {} ms",
              slot.name,
              slot.version,
              ModelConfigs.platform(slot.config),
              (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
          slot.failed(e.getMessage() == null ? e.toString() : e.getMessage());
        }
      }
      if (slot.state() == State.UNAVAILABLE) {
        String failure =
            slot.name
                + (slot.version.isEmpty() ? "" : " version " + slot.version)
                + ": "
                + slot.reason();
        log.error("model unavailable: {}", failure);
        failures.add(failure);
      }
    }
    loading = false;
    return failures;
  }

  /** The loader for this server's model kinds. */
  static Loader defaultLoader(Supplier<OrtEnvironment> env) {
    return (config, versionDir) ->
        switch (ModelConfigs.kind(config)) {
          case ONNX -> {
            String file =
                config.getDefaultModelFilename().isEmpty()
                    ? ModelConfigs.DEFAULT_ONNX_FILE
                    : config.getDefaultModelFilename();
            Path path = versionDir.resolve(file);
            if (!Files.isRegularFile(path)) {
              throw new IllegalArgumentException(
                  "model '" + config.getName() + "': missing model file " + path);
            }
            yield OnnxBackend.load(env.get(), config, path);
          }
          case JAVA -> {
            String implementation = ModelConfigs.implementation(config);
            if (!FerretLlmDevBackend.IMPLEMENTATION.equals(implementation)) {
              throw new IllegalArgumentException(
                  "model '"
                      + config.getName()
                      + "': unknown Java implementation '"
                      + implementation
                      + "' (known: "
                      + FerretLlmDevBackend.IMPLEMENTATION
                      + ")");
            }
            yield new FerretLlmDevBackend(config);
          }
        };
  }

  boolean serverReady() {
    if (loading || closed) {
      return false;
    }
    for (Slot s : allSlots()) {
      if (s.state() != State.READY) {
        return false;
      }
    }
    return true;
  }

  boolean modelReady(String name, String version) {
    return !closed && find(name, version).map(s -> s.state() == State.READY).orElse(false);
  }

  /** The slot of {@code name} at {@code version} ("" = the latest), if any. */
  Optional<Slot> find(String name, String version) {
    List<Slot> slots = models.get(name);
    if (slots == null) {
      return Optional.empty();
    }
    if (version.isEmpty()) {
      // the latest READY version, else the latest of any state
      for (int i = slots.size() - 1; i >= 0; i--) {
        if (slots.get(i).state() == State.READY) {
          return Optional.of(slots.get(i));
        }
      }
      return Optional.of(slots.get(slots.size() - 1));
    }
    return slots.stream().filter(s -> s.version.equals(version)).findFirst();
  }

  /**
   * The slot of a known model version.
   *
   * @throws InferenceException NOT_FOUND for an unknown model or version
   */
  Slot existing(String name, String version) {
    if (!models.containsKey(name)) {
      throw new InferenceException(
          Status.Code.NOT_FOUND,
          "unknown model '" + name + "' (this server has " + new TreeMap<>(models).keySet() + ")");
    }
    return find(name, version)
        .orElseThrow(
            () ->
                new InferenceException(
                    Status.Code.NOT_FOUND,
                    "model '"
                        + name
                        + "' has no version '"
                        + version
                        + "' (versions: "
                        + versions(name)
                        + ")"));
  }

  /**
   * The slot of a model version that can execute requests.
   *
   * @throws InferenceException NOT_FOUND (unknown) or UNAVAILABLE (not loaded)
   */
  Slot ready(String name, String version) {
    Slot slot = existing(name, version);
    if (closed) {
      throw new InferenceException(Status.Code.UNAVAILABLE, "the server is shutting down");
    }
    if (slot.state() != State.READY) {
      throw new InferenceException(
          Status.Code.UNAVAILABLE,
          "model '"
              + name
              + "' version '"
              + slot.version
              + "' is not ready ("
              + slot.state()
              + (slot.reason().isEmpty() ? "" : ": " + slot.reason())
              + ")");
    }
    return slot;
  }

  List<String> versions(String name) {
    List<Slot> slots = models.getOrDefault(name, List.of());
    return slots.stream().map(s -> s.version).filter(v -> !v.isEmpty()).toList();
  }

  List<Slot> slotsOf(String name) {
    return models.getOrDefault(name, List.of());
  }

  /** All slots, by model name then version. */
  Collection<Slot> allSlots() {
    List<Slot> all = new ArrayList<>();
    new TreeMap<>(models).values().forEach(all::addAll);
    return all;
  }

  /** From now on the server is not ready and refuses requests. */
  void markClosing() {
    closed = true;
  }

  /**
   * Stops every model's scheduler (queued requests fail with UNAVAILABLE) and releases the models
   * whose executions have finished; a model still executing after the scheduler's grace period is
   * left open rather than closed under a running execution.
   */
  @Override
  public void close() {
    closed = true;
    for (Slot slot : allSlots()) {
      ModelBackend backend = slot.backend();
      if (backend == null) {
        continue;
      }
      ModelScheduler scheduler = slot.scheduler();
      if (scheduler != null && !scheduler.shutdown()) {
        log.warn("{} is still executing after shutdown; not closing it", slot.describe());
        continue;
      }
      backend.close();
    }
  }
}

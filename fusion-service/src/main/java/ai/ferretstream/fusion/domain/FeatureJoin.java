package ai.ferretstream.fusion.domain;

import ai.ferretstream.boot.kafka.SourcePartition;
import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.TileKind;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's features while they arrive: one global map and {@code local_count} local maps. The
 * pieces must agree on the grid, the local patch grid and the channel count. A piece is normally a
 * notice, which names the {@code ferret.features} record holding its map ({@code stored_at}); a
 * piece that carries its map is taken as it is, and named where it was read. Guarded by {@link
 * JoinBook}.
 */
public final class FeatureJoin {

  /** A consumed record this join holds, for offset release. */
  record Held(SourcePartition partition, long offset) {}

  private final String requestId;
  // the global map's record carries the whole context; a local one only its routing part
  private RequestContext context;

  /** Stage timings of all pieces: per stage the latest (the slowest tile decides). */
  private final java.util.Map<String, Long> timings;

  private final GridLayout layout;
  private final int localCount;
  private final int channels;
  private final long expiresAtMillis;
  private TileFeatures global;
  private Held globalAt;
  private final TileFeatures[] locals;
  private final Held[] localsAt;
  private int localsReceived;
  private boolean dispatched;
  private final long openedAtNanos;
  private final List<Held> held = new ArrayList<>(4);

  FeatureJoin(TileFeatures first, long expiresAtMillis) {
    this.openedAtNanos = System.nanoTime();
    this.requestId = first.getContext().getRequestId();
    this.context = first.getContext();
    this.timings = new java.util.HashMap<>(first.getContext().getTimingsMap());
    this.layout = first.getLayout();
    this.localCount = first.getLocalCount();
    this.channels = first.getChannels();
    this.expiresAtMillis = expiresAtMillis;
    this.locals = new TileFeatures[localCount];
    this.localsAt = new Held[localCount];
  }

  /**
   * Checks one piece on its own: a notice, or a feature record that carries its map.
   *
   * @throws PermanentFailure {@code invalid_features} naming what is wrong
   */
  static void validate(TileFeatures f) {
    if (f.getContext().getRequestId().isEmpty()) {
      throw invalid("feature record without a request id");
    }
    if (f.getKind() != TileKind.TILE_KIND_GLOBAL && f.getKind() != TileKind.TILE_KIND_LOCAL) {
      throw invalid("feature record of kind " + f.getKind());
    }
    GridLayout layout = f.getLayout();
    if (layout.getRows() <= 0 || layout.getCols() <= 0) {
      throw invalid("grid layout " + layout.getCols() + "x" + layout.getRows() + " is empty");
    }
    if (f.getLocalCount() != layout.getRows() * layout.getCols()) {
      throw invalid(
          "local_count "
              + f.getLocalCount()
              + " does not match the "
              + layout.getCols()
              + "x"
              + layout.getRows()
              + " grid");
    }
    if (layout.getImageWidth() <= 0 || layout.getImageHeight() <= 0) {
      throw invalid(
          "image size " + layout.getImageWidth() + "x" + layout.getImageHeight() + " is empty");
    }
    if (f.getPatchRows() <= 0 || f.getPatchCols() <= 0 || f.getChannels() <= 0) {
      throw invalid(
          "feature map "
              + f.getPatchRows()
              + "x"
              + f.getPatchCols()
              + "x"
              + f.getChannels()
              + " is empty");
    }
    long expected = 2L * f.getPatchRows() * f.getPatchCols() * f.getChannels();
    boolean notice = FeatureRecords.isNotice(f);
    if (notice && !f.getFeaturesFp16().isEmpty()) {
      throw invalid("a notice carries features_fp16; it names the record that holds them");
    }
    long bytes = notice ? f.getFeaturesBytes() : f.getFeaturesFp16().size();
    if (bytes != expected) {
      throw invalid(
          (notice ? "the named features_fp16 has " : "features_fp16 has ")
              + bytes
              + " bytes, expected "
              + expected
              + " for ["
              + f.getPatchRows() * f.getPatchCols()
              + ", "
              + f.getChannels()
              + "] FP16");
    }
    if (f.getKind() == TileKind.TILE_KIND_LOCAL
        && (f.getIndex() < 0 || f.getIndex() >= f.getLocalCount())) {
      throw invalid("local tile index " + f.getIndex() + " outside [0, " + f.getLocalCount() + ")");
    }
    if (notice) {
      FeatureRef at = f.getStoredAt();
      if (!FeatureRecords.locates(at)
          || at.getKind() != f.getKind()
          || (f.getKind() == TileKind.TILE_KIND_LOCAL && at.getIndex() != f.getIndex())) {
        throw invalid(
            "the notice of "
                + f.getKind()
                + " "
                + f.getIndex()
                + " names "
                + at.getKind()
                + " "
                + at.getIndex()
                + " at "
                + FeatureRecords.where(at));
      }
    }
  }

  /**
   * Adds a piece, read at {@code offset} of {@code partition}; an added piece's record is held.
   *
   * @return false when this piece (same kind and index) is already here
   * @throws PermanentFailure {@code invalid_features} when it disagrees with the earlier pieces
   */
  boolean add(TileFeatures f, SourcePartition partition, long offset) {
    if (f.getLocalCount() != localCount
        || f.getChannels() != channels
        || f.getLayout().getRows() != layout.getRows()
        || f.getLayout().getCols() != layout.getCols()) {
      throw invalid(
          "feature records of request " + requestId + " disagree on the grid or the channel count");
    }
    if (f.getKind() == TileKind.TILE_KIND_GLOBAL) {
      if (global != null) {
        return false;
      }
      global = f;
      context = f.getContext();
      globalAt = hold(partition, offset);
      mergeTimings(f);
      return true;
    }
    TileFeatures other = firstLocal();
    if (other != null
        && (other.getPatchRows() != f.getPatchRows() || other.getPatchCols() != f.getPatchCols())) {
      throw invalid("local feature maps of request " + requestId + " differ in size");
    }
    if (locals[f.getIndex()] != null) {
      return false;
    }
    locals[f.getIndex()] = f;
    localsAt[f.getIndex()] = hold(partition, offset);
    localsReceived++;
    mergeTimings(f);
    return true;
  }

  private void mergeTimings(TileFeatures f) {
    f.getContext().getTimingsMap().forEach((stage, at) -> timings.merge(stage, at, Math::max));
  }

  private TileFeatures firstLocal() {
    for (TileFeatures l : locals) {
      if (l != null) {
        return l;
      }
    }
    return null;
  }

  private Held hold(SourcePartition partition, long offset) {
    Held h = new Held(partition, offset);
    if (!held.contains(h)) {
      held.add(h);
    }
    return h;
  }

  /**
   * Where the pieces lie in Kafka: the global map, then the local maps in tile order; only when
   * {@link #ready()}.
   */
  public List<FeatureRef> refs() {
    List<FeatureRef> refs = new ArrayList<>(localCount + 1);
    refs.add(ref(TileKind.TILE_KIND_GLOBAL, 0, globalAt));
    for (int k = 0; k < localCount; k++) {
      refs.add(ref(TileKind.TILE_KIND_LOCAL, k, localsAt[k]));
    }
    return refs;
  }

  private FeatureRef ref(TileKind kind, int index, Held at) {
    TileFeatures piece = kind == TileKind.TILE_KIND_GLOBAL ? global : locals[index];
    return FeatureRecords.isNotice(piece)
        ? piece.getStoredAt()
        : FeatureRecords.ref(
            piece, at.partition().topic(), at.partition().partition(), at.offset());
  }

  /** {@link System#nanoTime()} when the join's first record arrived. */
  public long openedAtNanos() {
    return openedAtNanos;
  }

  List<Held> held() {
    return held;
  }

  boolean fedBy(SourcePartition partition) {
    for (Held h : held) {
      if (h.partition().equals(partition)) {
        return true;
      }
    }
    return false;
  }

  /** Marks a ready join as handed out for fusion; false when it was already. */
  boolean dispatch() {
    if (dispatched) {
      return false;
    }
    dispatched = true;
    return true;
  }

  void undispatch() {
    dispatched = false;
  }

  /** Whether the join was handed out for fusion (its output may be on its way to the broker). */
  boolean dispatched() {
    return dispatched;
  }

  /** Whether the global map and every local map are here. */
  public boolean ready() {
    return global != null && localsReceived == localCount;
  }

  public String requestId() {
    return requestId;
  }

  /**
   * The request context of the global map's record (the first record's until it arrived: local
   * records carry only the routing part), with the stage timings of all records received so far
   * (per stage the latest).
   */
  public RequestContext context() {
    return context.toBuilder().putAllTimings(timings).build();
  }

  public GridLayout layout() {
    return layout;
  }

  public int channels() {
    return channels;
  }

  public long expiresAtMillis() {
    return expiresAtMillis;
  }

  /**
   * The pieces in token order, the global map first, then the local maps in tile order: notices, or
   * records that carry their maps; only when {@link #ready()}.
   */
  public List<TileFeatures> pieces() {
    List<TileFeatures> pieces = new ArrayList<>(localCount + 1);
    pieces.add(global);
    pieces.addAll(java.util.Arrays.asList(locals));
    return pieces;
  }

  /** The global map; only when {@link #ready()}. */
  public TileFeatures global() {
    return global;
  }

  /** The local map of tile {@code k}; only when {@link #ready()}. */
  public TileFeatures local(int k) {
    return locals[k];
  }

  public int localCount() {
    return localCount;
  }

  private static PermanentFailure invalid(String message) {
    return new PermanentFailure("invalid_features", message);
  }
}

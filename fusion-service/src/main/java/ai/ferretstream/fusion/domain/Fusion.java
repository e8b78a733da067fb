package ai.ferretstream.fusion.domain;

import ai.ferretstream.proto.failure.PermanentFailure;
import ai.ferretstream.proto.kafka.FeatureRecords;
import ai.ferretstream.proto.tensor.ImageTokens;
import ai.ferretstream.proto.v1.FeatureRef;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.Region;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.TileFeatures;
import ai.ferretstream.proto.v1.Turn;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a complete join into the LLM's inputs: the image tokens (global map, then the merged local
 * map, both FP16 as they arrived; by value, or by reference to the feature records) and, when the
 * request refers to regions (its earlier turns' and its question's, {@link #regions}), one region
 * embedding per region from the region sampler, which reads {@code H_a = H_l + upsample(H_g)} at
 * 512 points sampled from the region's mask. On a padded canvas the global map is upsampled onto
 * the image's content rectangle only, and the points are moved onto the canvas ({@link
 * PointSampler#onCanvas}), so that both read the same place.
 *
 * <p>The join's pieces are normally notices that name where their maps lie; the maps are read from
 * the {@link FeatureStore} only when they are needed here: for regions, or for tokens by value. A
 * request without regions whose tokens go by reference is fused from the notices alone.
 */
public final class Fusion {

  /** Timing key stamped on the context when fusion is done. */
  public static final String TIMING_DONE = "fusion.done";

  /** Stage timing: the last feature record of the request arrived and fusion starts. */
  public static final String TIMING_JOINED = "fusion.joined";

  private final UpsampleMode upsampleMode;
  private final RegionSampler sampler;
  private final Clock clock;
  private final boolean tokensByReference;
  private final FeatureStore store;

  /** Fusion that puts the image tokens into the fused context (by value). */
  public Fusion(UpsampleMode upsampleMode, RegionSampler sampler, Clock clock) {
    this(upsampleMode, sampler, clock, false);
  }

  /**
   * @param tokensByReference whether the fused context names the feature records the image tokens
   *     are made of ({@code feature_refs}) instead of carrying the tokens
   */
  public Fusion(
      UpsampleMode upsampleMode, RegionSampler sampler, Clock clock, boolean tokensByReference) {
    this(upsampleMode, sampler, clock, tokensByReference, FeatureStore.NONE);
  }

  /**
   * @param tokensByReference whether the fused context names the feature records the image tokens
   *     are made of ({@code feature_refs}) instead of carrying the tokens
   * @param store where the maps that notices name are read back from
   */
  public Fusion(
      UpsampleMode upsampleMode,
      RegionSampler sampler,
      Clock clock,
      boolean tokensByReference,
      FeatureStore store) {
    this.upsampleMode = upsampleMode;
    this.sampler = sampler;
    this.clock = clock;
    this.tokensByReference = tokensByReference;
    this.store = store;
  }

  /**
   * Fuses a {@linkplain FeatureJoin#ready() ready} join.
   *
   * @throws ai.ferretstream.proto.failure.PermanentFailure for a region that cannot be sampled, or
   *     named maps that cannot be read ({@code invalid_features}, {@code features_expired})
   * @throws ai.ferretstream.proto.failure.TransientFailure when named maps could not be read in
   *     time
   * @throws InterruptedException while reading named maps
   */
  public FusedContext fuse(FeatureJoin join) throws InterruptedException {
    if (!join.ready()) {
      throw new IllegalStateException("join of " + join.requestId() + " is not complete");
    }
    GridLayout layout = join.layout();
    RequestContext context =
        join.context().toBuilder().putTimings(TIMING_JOINED, clock.millis()).build();
    int rows = layout.getRows();
    int cols = layout.getCols();
    int channels = join.channels();
    TileFeatures global = join.global();
    TileFeatures first = join.local(0);
    int patchRows = first.getPatchRows();
    int patchCols = first.getPatchCols();
    // masks first: a bad region fails before any tensor work
    List<Region> regions = regions(context);
    List<RegionMask> masks = new ArrayList<>(regions.size());
    for (Region region : regions) {
      masks.add(RegionMasks.of(region, layout.getImageWidth(), layout.getImageHeight()));
    }
    int h = rows * patchRows;
    int w = cols * patchCols;
    FusedContext.Builder out =
        FusedContext.newBuilder()
            .setLayout(layout)
            .setChannels(channels)
            .setGlobalTokens(global.getPatchRows() * global.getPatchCols())
            .setLocalTokenRows(h)
            .setLocalTokenCols(w);
    // the tokens are laid out only when they travel by value or H_a is needed for regions
    byte[] tokens = null;
    if (!tokensByReference || !masks.isEmpty()) {
      List<ByteString> maps = maps(join);
      tokens =
          ImageTokens.of(
              maps.get(0),
              maps.subList(1, maps.size()),
              rows,
              cols,
              patchRows,
              patchCols,
              channels);
    }
    if (tokensByReference) {
      out.addAllFeatureRefs(join.refs());
    } else {
      out.setImageTokensFp16(UnsafeByteOperations.unsafeWrap(tokens));
    }
    if (!masks.isEmpty()) {
      byte[] fused =
          FeatureMaps.fusedMapFp16(
              tokens,
              0,
              global.getPatchRows(),
              global.getPatchCols(),
              2 * global.getPatchRows() * global.getPatchCols() * channels,
              h,
              w,
              channels,
              upsampleMode,
              placement(layout, patchRows, patchCols),
              true);
      RegionSampler.FeatureMap map =
          new RegionSampler.FeatureMap(h, w, channels, UnsafeByteOperations.unsafeWrap(fused));
      ByteString embeddings = ByteString.EMPTY;
      int regionChannels = -1;
      for (int i = 0; i < masks.size(); i++) {
        long seed = PointSampler.seed(context.getRequestId(), i);
        float[] points =
            PointSampler.onCanvas(
                PointSampler.points(
                    masks.get(i), layout.getImageWidth(), layout.getImageHeight(), seed),
                layout);
        RegionSampler.Embedding e =
            sampler.sample(context, map, points, PointSampler.fpsStart(seed));
        if (regionChannels >= 0 && e.channels() != regionChannels) {
          throw new PermanentFailure(
              "inference_rejected",
              "region sampler returned " + e.channels() + " channels after " + regionChannels);
        }
        regionChannels = e.channels();
        embeddings = embeddings.concat(e.fp16());
      }
      out.setRegionCount(masks.size())
          .setRegionChannels(regionChannels)
          .setRegionEmbeddingsFp16(embeddings);
    }
    return out.setContext(context.toBuilder().putTimings(TIMING_DONE, clock.millis())).build();
  }

  /**
   * Every region the request's prompt refers to, in the order of their {@code <region_fea>} in the
   * rendered conversation: the history's turns' regions (oldest turn first, each turn's in order),
   * then the current question's. A follow-up that only refers back to an earlier turn's region
   * still needs {@code H_a}, so the maps are read whenever this is not empty.
   */
  static List<Region> regions(RequestContext context) {
    List<Region> all = new ArrayList<>(context.getRegionsCount());
    for (Turn turn : context.getHistoryList()) {
      all.addAll(turn.getRegionsList());
    }
    all.addAll(context.getRegionsList());
    return all;
  }

  /**
   * Where the global map goes on the merged local map: the content rectangle of a padded canvas, in
   * local cells ({@code tile_size / patches} canvas pixels each), so that both maps of {@code H_a}
   * show the same place of the image (the global view is the whole image, stretched); {@code null}
   * (the whole map) for a stretched canvas, or one the image fills.
   */
  static FeatureMaps.Placement placement(GridLayout layout, int patchRows, int patchCols) {
    if (layout.getMode() != ai.ferretstream.proto.v1.ResizeMode.RESIZE_MODE_PAD
        || layout.getTileSize() <= 0
        || layout.getContentWidth() <= 0
        || layout.getContentHeight() <= 0
        || (layout.getContentX() == 0
            && layout.getContentY() == 0
            && layout.getContentWidth() == layout.getCanvasWidth()
            && layout.getContentHeight() == layout.getCanvasHeight())) {
      return null;
    }
    double cellWidth = (double) layout.getTileSize() / patchCols;
    double cellHeight = (double) layout.getTileSize() / patchRows;
    return new FeatureMaps.Placement(
        layout.getContentX() / cellWidth,
        layout.getContentY() / cellHeight,
        layout.getContentWidth() / cellWidth,
        layout.getContentHeight() / cellHeight);
  }

  /**
   * The FP16 maps of the join's pieces in token order: carried by the piece, or read back from
   * where its notice names (all of a request's in one read) and checked against the notice.
   */
  private List<ByteString> maps(FeatureJoin join) throws InterruptedException {
    List<TileFeatures> pieces = join.pieces();
    List<FeatureRef> named = new ArrayList<>(pieces.size());
    for (TileFeatures piece : pieces) {
      if (FeatureRecords.isNotice(piece)) {
        named.add(piece.getStoredAt());
      }
    }
    List<TileFeatures> read = named.isEmpty() ? List.of() : store.read(join.requestId(), named);
    List<ByteString> maps = new ArrayList<>(pieces.size());
    int next = 0;
    for (TileFeatures piece : pieces) {
      if (!FeatureRecords.isNotice(piece)) {
        maps.add(piece.getFeaturesFp16());
        continue;
      }
      TileFeatures full = read.get(next++);
      if (full.getFeaturesFp16().size() != piece.getFeaturesBytes()
          || full.getPatchRows() != piece.getPatchRows()
          || full.getPatchCols() != piece.getPatchCols()
          || full.getChannels() != piece.getChannels()) {
        throw new PermanentFailure(
            "invalid_features",
            "the record at "
                + FeatureRecords.where(piece.getStoredAt())
                + " does not match its notice: "
                + full.getPatchRows()
                + "x"
                + full.getPatchCols()
                + "x"
                + full.getChannels()
                + " in "
                + full.getFeaturesFp16().size()
                + " bytes, the notice says "
                + piece.getPatchRows()
                + "x"
                + piece.getPatchCols()
                + "x"
                + piece.getChannels()
                + " in "
                + piece.getFeaturesBytes());
      }
      maps.add(full.getFeaturesFp16());
    }
    return maps;
  }
}

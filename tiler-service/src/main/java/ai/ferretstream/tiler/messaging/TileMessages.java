package ai.ferretstream.tiler.messaging;

import ai.ferretstream.boot.features.SharedFeatureStore;
import ai.ferretstream.proto.kafka.FerretHeaders;
import ai.ferretstream.proto.v1.GridLayout;
import ai.ferretstream.proto.v1.Rect;
import ai.ferretstream.proto.v1.RequestContext;
import ai.ferretstream.proto.v1.ResizeMode;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileKind;
import ai.ferretstream.tiler.domain.ImageTiler.TiledImage;
import ai.ferretstream.tiler.domain.PixelRect;
import ai.ferretstream.tiler.domain.RgbImage;
import ai.ferretstream.tiler.domain.TilingPlan;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Builds the tile records of one tiled request. */
final class TileMessages {

  static final String VALUE_TYPE = "ferret.v1.Tile";

  private TileMessages() {}

  static GridLayout layout(TilingPlan plan) {
    PixelRect content = plan.content();
    return GridLayout.newBuilder()
        .setImageWidth(plan.imageWidth())
        .setImageHeight(plan.imageHeight())
        .setCols(plan.grid().cols())
        .setRows(plan.grid().rows())
        .setTileSize(plan.tileSize())
        .setCanvasWidth(plan.canvasWidth())
        .setCanvasHeight(plan.canvasHeight())
        .setMode(
            plan.mode() == ai.ferretstream.tiler.domain.ResizeMode.PAD
                ? ResizeMode.RESIZE_MODE_PAD
                : ResizeMode.RESIZE_MODE_STRETCH)
        .setContentX(content.x0())
        .setContentY(content.y0())
        .setContentWidth(content.width())
        .setContentHeight(content.height())
        .build();
  }

  /**
   * What every stage needs to route, expire and time a request's records: its id, deadline,
   * creation time, reply address, model name and stage timings; and the feature cache key the
   * encoders store the features under (ADR 0018).
   */
  static RequestContext routing(RequestContext context) {
    RequestContext.Builder routing = RequestContext.newBuilder();
    if (context.hasFeatureCache()) {
      routing.setFeatureCache(context.getFeatureCache());
    }
    return routing
        .setRequestId(context.getRequestId())
        .setDeadlineUnixMs(context.getDeadlineUnixMs())
        .setCreatedUnixMs(context.getCreatedUnixMs())
        .setReplyTo(context.getReplyTo())
        .setModel(context.getModel())
        .putAllTimings(context.getTimingsMap())
        .build();
  }

  static Rect rect(PixelRect r) {
    return Rect.newBuilder().setX0(r.x0()).setY0(r.y0()).setX1(r.x1()).setY1(r.y1()).build();
  }

  /**
   * The global tile (index 0) followed by the local tiles in row-major order. Only the global tile
   * carries the whole request context (question, history, regions with their masks: what fusion and
   * the llm need); local tiles carry the {@linkplain #routing routing part}, which is all the
   * encoders use. With a shared-memory {@code store} (or {@code null}), each tile's pixels are
   * written to it and the tile names the file instead of carrying them (ADR 0012), unless the store
   * cannot take them.
   */
  static List<Tile> tiles(RequestContext context, TiledImage tiled, SharedFeatureStore store) {
    RequestContext routing = routing(context);
    TilingPlan plan = tiled.plan();
    GridLayout layout = layout(plan);
    List<Tile> tiles = new ArrayList<>(1 + plan.tileCount());
    tiles.add(
        tile(context, layout, plan, TileKind.TILE_KIND_GLOBAL, 0, tiled.global(), store)
            .setCanvasRect(rect(plan.canvas()))
            .setImageRect(rect(plan.image()))
            .build());
    for (int k = 0; k < plan.tileCount(); k++) {
      tiles.add(
          tile(routing, layout, plan, TileKind.TILE_KIND_LOCAL, k, tiled.locals().get(k), store)
              .setCanvasRect(rect(plan.canvasRect(k)))
              .setImageRect(rect(plan.imageRect(k)))
              .build());
    }
    return tiles;
  }

  private static Tile.Builder tile(
      RequestContext context,
      GridLayout layout,
      TilingPlan plan,
      TileKind kind,
      int index,
      RgbImage pixels,
      SharedFeatureStore store) {
    Tile.Builder tile =
        Tile.newBuilder()
            .setContext(context)
            .setKind(kind)
            .setIndex(index)
            .setLocalCount(plan.tileCount())
            .setLayout(layout)
            .setWidth(pixels.width())
            .setHeight(pixels.height());
    String file =
        store == null
            ? null
            : store.writeTile(
                context.getRequestId(), kind, index, ByteBuffer.wrap(pixels.pixels()));
    return file != null
        ? tile.setRgbSharedFile(file)
        // the tile's bytes are never modified after tiling: wrap them instead of copying
        : tile.setRgb(UnsafeByteOperations.unsafeWrap(pixels.pixels()));
  }

  static ProducerRecord<String, Object> record(String topic, Tile tile, String producer) {
    RequestContext context = tile.getContext();
    ProducerRecord<String, Object> record =
        new ProducerRecord<>(topic, context.getRequestId(), tile);
    FerretHeaders.stamp(record.headers(), context, VALUE_TYPE, producer);
    return record;
  }
}

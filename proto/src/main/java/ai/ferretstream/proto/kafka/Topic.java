package ai.ferretstream.proto.kafka;

import ai.ferretstream.proto.v1.AnswerEvent;
import ai.ferretstream.proto.v1.AskRequest;
import ai.ferretstream.proto.v1.Cancel;
import ai.ferretstream.proto.v1.FusedContext;
import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileFeatures;
import com.google.protobuf.Message;

/**
 * The pipeline topics: base name, value type and who writes and reads them. Names are resolved
 * against a prefix by {@link TopicCatalog}.
 */
public enum Topic {
  REQUESTS("ferret.requests", AskRequest.class, "gateway / any client", "tiler-service"),
  TILES_GLOBAL("ferret.tiles.global", Tile.class, "tiler-service", "encoder-service (global)"),
  TILES_LOCAL("ferret.tiles.local", Tile.class, "tiler-service", "encoder-service (local)"),
  FEATURES(
      "ferret.features",
      TileFeatures.class,
      "encoder-service",
      "fusion-service (regions, by-value), llm-service (by location)"),
  FEATURE_NOTICES(
      "ferret.feature-notices", TileFeatures.class, "encoder-service", "fusion-service"),
  FUSED("ferret.fused", FusedContext.class, "fusion-service", "llm-service"),
  ANSWERS("ferret.answers", AnswerEvent.class, "every stage (errors), llm-service", "gateway"),
  CONTROL("ferret.control", Cancel.class, "gateway", "every stage");

  /** Suffix of the dead-letter topic of each topic. */
  public static final String DLT_SUFFIX = ".dlt";

  private final String baseName;
  private final Class<? extends Message> valueType;
  private final String producers;
  private final String consumers;

  Topic(String baseName, Class<? extends Message> valueType, String producers, String consumers) {
    this.baseName = baseName;
    this.valueType = valueType;
    this.producers = producers;
    this.consumers = consumers;
  }

  public String baseName() {
    return baseName;
  }

  public Class<? extends Message> valueType() {
    return valueType;
  }

  public String producers() {
    return producers;
  }

  public String consumers() {
    return consumers;
  }
}

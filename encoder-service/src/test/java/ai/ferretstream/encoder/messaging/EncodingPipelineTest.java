package ai.ferretstream.encoder.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import ai.ferretstream.proto.v1.Tile;
import ai.ferretstream.proto.v1.TileKind;
import org.junit.jupiter.api.Test;

class EncodingPipelineTest {

  @Test
  void aRequestHasOneGlobalTileAndLocalCountLocalTiles() {
    Tile global = Tile.newBuilder().setKind(TileKind.TILE_KIND_GLOBAL).setLocalCount(6).build();
    Tile local = Tile.newBuilder().setKind(TileKind.TILE_KIND_LOCAL).setLocalCount(6).build();

    assertThat(EncodingPipeline.tilesOfRequest(global)).isEqualTo(1);
    assertThat(EncodingPipeline.tilesOfRequest(local)).isEqualTo(6);
  }

  @Test
  void aLocalTileWithoutItsCountNeverCompletesARequest() {
    Tile local = Tile.newBuilder().setKind(TileKind.TILE_KIND_LOCAL).build();

    assertThat(EncodingPipeline.tilesOfRequest(local)).isEqualTo(Integer.MAX_VALUE);
  }
}

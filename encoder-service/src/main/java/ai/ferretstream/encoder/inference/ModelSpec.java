package ai.ferretstream.encoder.inference;

/**
 * The encoder model as this service calls it: UINT8 {@code [B, tileSize, tileSize, 3]} in, FP16
 * {@code [B, patchGrid * patchGrid, C]} out.
 *
 * @param name Triton model name
 * @param version model version, empty for the server's policy
 * @param inputName input tensor name
 * @param outputName output tensor name
 * @param tileSize tile edge in pixels
 * @param patchGrid patches per tile edge
 */
public record ModelSpec(
    String name, String version, String inputName, String outputName, int tileSize, int patchGrid) {

  /** Bytes of one tile: {@code tileSize * tileSize * 3}. */
  public int tileBytes() {
    return tileSize * tileSize * 3;
  }

  /** Patches (output rows) per tile. */
  public int patches() {
    return patchGrid * patchGrid;
  }
}

package ai.ferretstream.fusion.domain;

/** How the global feature map is resized to the merged local map's size (PyTorch semantics). */
public enum UpsampleMode {
  /** PyTorch's legacy {@code nearest}: {@code src = floor(dst * in / out)}. */
  NEAREST,
  /** PyTorch's {@code bilinear} with {@code align_corners=False}. */
  BILINEAR
}

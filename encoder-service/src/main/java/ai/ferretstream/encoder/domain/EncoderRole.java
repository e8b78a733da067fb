package ai.ferretstream.encoder.domain;

import java.util.Locale;

/** Which half of the Ferret-v2 vision stack an encoder instance serves. */
public enum EncoderRole {
  /** CLIP ViT-L/14-336 on the global view ({@code ferret.tiles.global}). */
  GLOBAL("clip_vision"),
  /** DINOv2 ViT-L/14 on the local tiles ({@code ferret.tiles.local}). */
  LOCAL("dinov2_vision");

  private final String defaultModel;

  EncoderRole(String defaultModel) {
    this.defaultModel = defaultModel;
  }

  /** The Triton model this role calls unless configured otherwise. */
  public String defaultModel() {
    return defaultModel;
  }

  /** Lower-case name, as in configuration, metrics and stage names: {@code global}. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}

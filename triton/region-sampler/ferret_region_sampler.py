"""Ferret's spatial-aware visual sampler, written for serving: deterministic, exportable to ONNX.

A reimplementation from the published description (shared/reference/ferret-v2.md section 4) and
the parameter names of ml-ferret's ``GeoRegionSampler``, so that a Ferret checkpoint's weights
load into it. It differs from the training code only where serving needs it:

- no hidden randomness: the 512 points are an input (fusion-service samples them from the mask
  with a seeded RNG), and so is the index farthest-point sampling starts from;
- ties are broken by index everywhere (farthest-point sampling takes the first farthest point,
  k-nearest-neighbour grouping the lower index among equal distances), so the exported graph and
  this module pick the same points;
- one region per call, the feature map in NHWC as the ``ferret_region_sampler`` contract sends it.

The v1 coordinate transposition (masks stored [W][H] and the grid flipped, so the feature is read
at column = y-fraction, row = x-fraction) is the option ``transpose_quirk``: weights trained by
the v1 code need it on; whether Ferret-v2 kept it is not published.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

# the prefix of the sampler's parameters in a Ferret checkpoint's state dict
CHECKPOINT_PREFIX = "model.region_geo_sampler."


@dataclass(frozen=True)
class SamplerConfig:
    """The sampler's shapes. ``real()`` is Ferret's; ``tiny()`` keeps tests fast."""

    input_dim: int = 1024  # d: channels of the feature map
    output_dim: int = 4096  # D: the LLM's hidden size
    num_points: int = 512
    num_sub_points: tuple[int, ...] = (128, 32)
    num_neighbors: tuple[int, ...] = (24, 24)
    pooler: str = "max"  # "max" (Ferret's training scripts) or "mean"
    transpose_quirk: bool = False

    @staticmethod
    def real(**overrides) -> "SamplerConfig":
        return SamplerConfig(**overrides)

    @staticmethod
    def tiny(**overrides) -> "SamplerConfig":
        values = dict(input_dim=16, output_dim=24, num_points=64, num_sub_points=(16, 8),
                      num_neighbors=(6, 4))
        values.update(overrides)
        return SamplerConfig(**values)


class ConvReLULN1D(nn.Module):
    """Conv1d(kernel 1) then ReLU over (batch, channels, points), then LayerNorm over channels.

    Parameter names as in the checkpoint: ``net.0`` is the convolution, ``norm`` the LayerNorm.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(in_channels, out_channels, kernel_size=1), nn.ReLU())
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net(x)
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def point_features(features: torch.Tensor, points: torch.Tensor, transpose_quirk: bool) -> torch.Tensor:
    """Bilinear features of ``points`` (x, y in [0, 1]) from an NHWC map: (1, N, d), FP32.

    ``grid_sample`` with ``align_corners=True`` and zero padding, as Ferret reads them: x = 0 is the
    first column's centre, x = 1 the last's.
    """
    grid = points
    if transpose_quirk:
        # v1: the grid's (gx, gy) is (y, x), so columns are read at the y-fraction
        grid = points.flip(-1)
    nchw = features.float().permute(0, 3, 1, 2)
    sampled = F.grid_sample(nchw, (2.0 * grid - 1.0).unsqueeze(2), mode="bilinear",
                            padding_mode="zeros", align_corners=True)  # (1, d, N, 1)
    return sampled.squeeze(3).transpose(1, 2)


def farthest_point_sample(xy: torch.Tensor, count: int, start: torch.Tensor) -> torch.Tensor:
    """Indices (count,) of farthest-point sampling over xy (N, 2), from index ``start``.

    Each step takes the point farthest from those taken; among equally far points the first.
    """
    n = xy.shape[0]
    distance = torch.full((n,), 1e10, dtype=xy.dtype)
    chosen = []
    current = start.reshape(())
    for _ in range(count):
        chosen.append(current)
        d = ((xy - xy[current]) ** 2).sum(-1)
        distance = torch.minimum(distance, d)
        current = torch.argmax(distance)  # the first of equal maxima
    return torch.stack(chosen)


def knn(xy: torch.Tensor, anchors: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (S, k) of the k nearest points of xy (N, 2) to each anchor (S, 2), nearest first.

    Squared Euclidean distance; the anchor itself (distance 0) is among them. Equal distances go to
    the lower index: k rounds of "the first minimum", which the exported graph (ArgMin) does alike,
    where a sort or TopK would leave the order of ties to the implementation.
    """
    d = ((anchors.unsqueeze(1) - xy.unsqueeze(0)) ** 2).sum(-1)  # (S, N)
    taken = []
    for _ in range(k):
        nearest = torch.argmin(d, dim=-1, keepdim=True)  # (S, 1), the first of equal minima
        taken.append(nearest)
        d = d.scatter(1, nearest, float("inf"))
    return torch.cat(taken, dim=1)


class RegionSampler(nn.Module):
    """One region's embedding from the feature map and its 512 sampled points."""

    def __init__(self, config: SamplerConfig):
        super().__init__()
        if len(config.num_sub_points) != len(config.num_neighbors):
            raise ValueError("num_sub_points and num_neighbors need one entry per stage")
        if config.pooler not in ("max", "mean"):
            raise ValueError(f"pooler must be 'max' or 'mean', not {config.pooler!r}")
        self.config = config
        d = config.input_dim
        self.diff_projector_list = nn.ModuleList()
        self.agg_projector_list = nn.ModuleList()
        for _ in config.num_sub_points:
            self.diff_projector_list.append(nn.Linear(d + 2, d + 2))
            self.agg_projector_list.append(ConvReLULN1D(2 * (d + 2), d))
        self.flatten_projector = nn.Linear(d * config.num_sub_points[-1], d)
        self.dim_projector = nn.Linear(d, config.output_dim)

    def forward(self, features: torch.Tensor, points: torch.Tensor,
                fps_start: torch.Tensor) -> torch.Tensor:
        """features (1, h, w, d) any float type, points (1, N, 2) FP32 in [0, 1], fps_start (1,)
        int64 in [0, N): the region's embedding (1, D), FP32."""
        c = self.config
        xy = points[0].float()  # (N, 2)
        fea = point_features(features, points.float(), c.transpose_quirk)[0]  # (N, d)
        start = fps_start.reshape(())
        for stage, (count, k) in enumerate(zip(c.num_sub_points, c.num_neighbors)):
            picked = farthest_point_sample(xy, count, start)
            anchor_xy, anchor_fea = xy[picked], fea[picked]  # (S, 2), (S, d)
            group = knn(xy, anchor_xy, k)  # (S, k)
            local = torch.cat([fea[group], xy[group]], dim=-1)  # (S, k, d+2)
            anchor = torch.cat([anchor_fea, anchor_xy], dim=-1).unsqueeze(1)  # (S, 1, d+2)
            diff = self.diff_projector_list[stage](local - anchor)
            gathered = torch.cat([diff, anchor.expand(-1, k, -1)], dim=-1)  # (S, k, 2(d+2))
            out = self.agg_projector_list[stage](gathered.transpose(1, 2))  # (S, d, k)
            fea = out.amax(dim=-1) if c.pooler == "max" else out.mean(dim=-1)  # (S, d)
            xy = anchor_xy
            # the next stage starts from this stage's first anchor: the same point fps_start named
            start = torch.zeros((), dtype=torch.long)
        x = self.flatten_projector(fea.reshape(1, -1))
        return self.dim_projector(x)

    # -- weights -------------------------------------------------------------------------------

    def load_ferret_state_dict(self, state: dict[str, torch.Tensor], prefix: str = CHECKPOINT_PREFIX):
        """Loads the sampler's weights from a Ferret checkpoint's state dict (any other keys are
        ignored); every parameter must be there with its shape."""
        own = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
        missing, unexpected = self.load_state_dict(own, strict=False)
        if missing or unexpected:
            raise KeyError(f"checkpoint does not fit the sampler: missing {missing}, "
                           f"unexpected {unexpected} (prefix {prefix!r})")

    def init_random(self, seed: int) -> "RegionSampler":
        """Random weights of the real shapes, reproducible from the seed (no Ferret weights are
        public): a weight-shape and export check, not a model."""
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith("bias"):
                    p.normal_(0.0, 0.02, generator=generator)
                else:
                    fan_in = p.shape[1] * (p.shape[2] if p.dim() == 3 else 1)
                    p.normal_(0.0, fan_in ** -0.5, generator=generator)
        return self

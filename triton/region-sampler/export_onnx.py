"""Exports the region sampler to ONNX with the ferret_region_sampler contract (see README.md).

    /usr/bin/python3 triton/region-sampler/export_onnx.py --out DIR/ferret_region_sampler/1/model.onnx \
        [--checkpoint ferret.bin | --random-seed 7] [--hidden-size 4096] [--tiny] [--transpose-quirk] \
        [--pooler max|mean]

Inputs: ``features`` FP16 [1, h, w, d] (h, w dynamic), ``points`` FP32 [1, 512, 2] in [0, 1]
(x along the columns), ``fps_start`` INT64 [1]. Output: ``region_feature`` FP16 [1, D].
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from ferret_region_sampler import RegionSampler, SamplerConfig  # noqa: E402

OPSET = 17  # GridSample needs 16; ONNX Runtime 1.29 and Triton's onnxruntime backend run 17


class Served(nn.Module):
    """The sampler with the contract's types: FP16 features in, FP16 embedding out."""

    def __init__(self, sampler: RegionSampler):
        super().__init__()
        self.sampler = sampler

    def forward(self, features, points, fps_start):
        return self.sampler(features, points, fps_start).to(torch.float16)


def build(args) -> RegionSampler:
    overrides = dict(pooler=args.pooler, transpose_quirk=args.transpose_quirk)
    if args.hidden_size is not None:
        overrides["output_dim"] = args.hidden_size
    config = (SamplerConfig.tiny if args.tiny else SamplerConfig.real)(**overrides)
    sampler = RegionSampler(config)
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu")
        sampler.load_ferret_state_dict(state.get("state_dict", state))
    else:
        sampler.init_random(args.random_seed)
    return sampler.eval()


def export(sampler: RegionSampler, out: pathlib.Path) -> None:
    c = sampler.config
    features = torch.zeros(1, 4, 6, c.input_dim, dtype=torch.float16)
    points = torch.rand(1, c.num_points, 2, generator=torch.Generator().manual_seed(0))
    start = torch.zeros(1, dtype=torch.long)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        Served(sampler), (features, points, start), str(out), opset_version=OPSET,
        input_names=["features", "points", "fps_start"], output_names=["region_feature"],
        dynamic_axes={"features": {1: "h", 2: "w"}}, do_constant_folding=True)


def add_weight_arguments(parser: argparse.ArgumentParser) -> None:
    """--checkpoint or --random-seed, and --hidden-size: where the weights come from, and D."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", help="a Ferret checkpoint (state dict) to take weights from")
    source.add_argument("--random-seed", type=int, default=7,
                        help="random weights of the real shapes (the default; no weights are public)")
    parser.add_argument("--hidden-size", type=int,
                        help="D, the LLM's hidden size (default 4096, Vicuna-7B; 5120 for 13B)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    add_weight_arguments(parser)
    parser.add_argument("--tiny", action="store_true", help="the tiny test configuration")
    parser.add_argument("--transpose-quirk", action="store_true",
                        help="read features as Ferret v1's code does (column = y, row = x)")
    parser.add_argument("--pooler", choices=["max", "mean"], default="max")
    args = parser.parse_args(argv)
    sampler = build(args)
    with torch.no_grad():
        export(sampler, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, opset {OPSET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes a parity case for the exported sampler: a model repository with the ONNX export and the
PyTorch reference's answers on fixed inputs, for inference-server's RegionSamplerParityIT.

    /usr/bin/python3 triton/region-sampler/parity_fixture.py --out DIR [--tiny] [--output-type fp32|fp16]

DIR/ferret_region_sampler/config.pbtxt and 1/model.onnx (random weights, seed 7), and per case k
DIR/cases/k/{features.f16,points.f32,fps_start.i64,expected.f32,shape.txt}: raw little-endian
tensors; shape.txt holds "h w d D".
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from export_onnx import OPSET  # noqa: E402
from ferret_region_sampler import RegionSampler, SamplerConfig  # noqa: E402

CONFIG = """name: "ferret_region_sampler"
platform: "onnxruntime_onnx"
max_batch_size: 0
input [
  {{ name: "features" data_type: TYPE_FP16 dims: [ 1, -1, -1, {d} ] }},
  {{ name: "points" data_type: TYPE_FP32 dims: [ 1, {n}, 2 ] }},
  {{ name: "fps_start" data_type: TYPE_INT64 dims: [ 1 ] }}
]
output [
  {{ name: "region_feature" data_type: {out_type} dims: [ 1, {D} ] }}
]
"""


class WithOutputType(torch.nn.Module):
    def __init__(self, sampler, dtype):
        super().__init__()
        self.sampler, self.dtype = sampler, dtype

    def forward(self, features, points, fps_start):
        return self.sampler(features, points, fps_start).to(self.dtype)


def cases(config: SamplerConfig):
    """(features, points, start): a spread region on a 3x2 grid's map, a tiny region whose few
    points repeat (ties everywhere), and a region on the global 24x24 map."""
    g = torch.Generator().manual_seed(11)
    n = config.num_points
    spread = torch.rand(1, n, 2, generator=g) * torch.tensor([0.5, 0.4]) + torch.tensor([0.2, 0.3])
    few = torch.tensor([[0.61, 0.2], [0.62, 0.2], [0.61, 0.21], [0.62, 0.21], [0.6, 0.22]])
    small = few.repeat(n // 5 + 1, 1)[:n].unsqueeze(0)
    yield torch.randn(1, 48, 72, config.input_dim, generator=g).half(), spread, torch.tensor([5])
    yield torch.randn(1, 48, 72, config.input_dim, generator=g).half(), small, torch.tensor([0])
    yield torch.randn(1, 24, 24, config.input_dim, generator=g).half(), torch.rand(1, n, 2, generator=g), torch.tensor([n - 1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--output-type", choices=["fp32", "fp16"], default="fp32")
    args = parser.parse_args(argv)
    config = SamplerConfig.tiny() if args.tiny else SamplerConfig.real()
    sampler = RegionSampler(config).init_random(7).eval()
    dtype = torch.float32 if args.output_type == "fp32" else torch.float16
    served = WithOutputType(sampler, dtype)
    model_dir = args.out / "ferret_region_sampler"
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    (model_dir / "config.pbtxt").write_text(CONFIG.format(
        d=config.input_dim, n=config.num_points, D=config.output_dim,
        out_type="TYPE_FP32" if args.output_type == "fp32" else "TYPE_FP16"))
    with torch.no_grad():
        example = next(iter(cases(config)))
        torch.onnx.export(served, example, str(model_dir / "1" / "model.onnx"), opset_version=OPSET,
                          input_names=["features", "points", "fps_start"],
                          output_names=["region_feature"],
                          dynamic_axes={"features": {1: "h", 2: "w"}})
        for k, (features, points, start) in enumerate(cases(config)):
            case = args.out / "cases" / str(k)
            case.mkdir(parents=True, exist_ok=True)
            expected = sampler(features, points, start)  # the FP32 reference
            (case / "features.f16").write_bytes(features.numpy().tobytes())
            (case / "points.f32").write_bytes(points.numpy().astype("<f4").tobytes())
            (case / "fps_start.i64").write_bytes(start.numpy().astype("<i8").tobytes())
            (case / "expected.f32").write_bytes(expected.numpy().astype("<f4").tobytes())
            (case / "shape.txt").write_text(
                f"{features.shape[1]} {features.shape[2]} {config.input_dim} {config.output_dim}\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

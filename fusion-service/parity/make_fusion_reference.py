#!/usr/bin/python3
"""Generate the fusion-service PyTorch reference tensors.

Ferret-v2 fuses the encoder feature maps as (ferret-v2.md section 3)

    H_l' = merge(locals)       view(rows, cols, 24, 24, C).permute(0, 2, 1, 3, 4)
                               .reshape(rows*24, cols*24, C)
    H_g' = F.interpolate(H_g as [1, C, 24, 24] float32, size=(rows*24, cols*24), mode=M)
    H_a  = H_l' + H_g'         (float32)

and the Java code (FeatureMaps.fusedMap / fusedMapFp16) must give the same H_a.  This script
writes small, deterministic cases that FusionParityTest compares against:

  <out>/manifest.json          the cases: grid, channels, file names and shapes, modes, versions
  <out>/<case>/global.f16      H_g, FP16 little-endian, [576, C] (row-major 24x24 positions)
  <out>/<case>/locals.f16      the N local maps in tile order, FP16 little-endian, [N, 576, C];
                               tile k sits at tile row k // cols, tile column k % cols
  <out>/<case>/<mode>.f32      the expected H_a, FP32 little-endian, [rows*24, cols*24, C],
                               for mode in ("nearest", "bilinear"); bilinear uses
                               align_corners=False, nearest is PyTorch's legacy "nearest"

The inputs are random (torch.Generator seeded per case), drawn in float32 and rounded to FP16;
the FP16 values are what the Java side reads, and the reference decodes the very same FP16 values
to float32 before merging, upsampling and adding.  torch runs on one thread so the output does
not depend on the machine's core count.

Usage (from the repository root):
  /usr/bin/python3 fusion-service/parity/make_fusion_reference.py            # (re)write
  /usr/bin/python3 fusion-service/parity/make_fusion_reference.py --out DIR  # write elsewhere
  /usr/bin/python3 fusion-service/parity/make_fusion_reference.py --check    # regenerate into a
      temp dir and compare byte for byte with the checked-in files; exit 1 on any difference

Needs Debian's python3-torch (torch 1.13, CPU) and python3-numpy.
"""

import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

PATCHES = 24  # a 336-pixel tile gives a 24x24 map (patch 14)
MODES = ("nearest", "bilinear")
GENERATOR = "fusion-service/parity/make_fusion_reference.py"
DEFAULT_OUT = (Path(__file__).resolve().parent.parent
               / "src" / "test" / "resources" / "fusion-parity")

# (name, cols, rows, channels, seed): the grid is cols x rows as in the Ferret-v2 grid list
CASES = [
    ("grid-1x1-c8", 1, 1, 8, 101),
    ("grid-2x1-c8", 2, 1, 8, 102),
    ("grid-1x3-c8", 1, 3, 8, 103),
    ("grid-3x2-c8", 3, 2, 8, 104),
    ("grid-2x3-c8", 2, 3, 8, 105),
    ("grid-2x1-c32", 2, 1, 32, 106),
    ("grid-6x1-c8", 6, 1, 8, 107),  # x6 and x5 scales: non-exact float bilinear positions
    ("grid-1x5-c8", 1, 5, 8, 108),
]


def fp16_le(t):
    """FP16 tensor -> little-endian bytes, row-major."""
    return t.contiguous().numpy().astype("<f2", copy=False).tobytes()


def fp32_le(t):
    """FP32 tensor -> little-endian bytes, row-major."""
    return t.contiguous().numpy().astype("<f4", copy=False).tobytes()


def random_map(gen, tokens, channels):
    """Feature-like FP16 values: mostly N(0, 1.5), a few large activations (up to ~+-60)."""
    x = torch.randn(tokens, channels, generator=gen, dtype=torch.float32) * 1.5
    spikes = torch.rand(tokens, channels, generator=gen) < 0.01
    big = (torch.rand(tokens, channels, generator=gen) - 0.5) * 120.0
    x = torch.where(spikes, big, x)
    return x.to(torch.float16)


def merge(locals_f32, rows, cols, channels):
    """[N, 576, C] in tile order -> H_l' [rows*24, cols*24, C] (the Ferret 'spatial' merge)."""
    return (locals_f32.view(rows, cols, PATCHES, PATCHES, channels)
            .permute(0, 2, 1, 3, 4)
            .reshape(rows * PATCHES, cols * PATCHES, channels))


def fuse(global_f32, locals_f32, rows, cols, channels, mode):
    """H_a [rows*24, cols*24, C] float32."""
    h, w = rows * PATCHES, cols * PATCHES
    g = global_f32.view(PATCHES, PATCHES, channels).permute(2, 0, 1).unsqueeze(0).contiguous()
    if mode == "nearest":
        up = F.interpolate(g, size=(h, w), mode="nearest")
    else:
        up = F.interpolate(g, size=(h, w), mode="bilinear", align_corners=False)
    up = up[0].permute(1, 2, 0)  # [h, w, C]
    return merge(locals_f32, rows, cols, channels) + up


def write(out):
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "generator": GENERATOR,
        "torch": torch.__version__,
        "patches": PATCHES,
        "tolerance": "|java - ref| <= 1e-3 * max(1, |ref|) per element",
        "cases": [],
    }
    for name, cols, rows, channels, seed in CASES:
        gen = torch.Generator().manual_seed(seed)
        n = cols * rows
        tokens = PATCHES * PATCHES
        global_h = random_map(gen, tokens, channels)
        locals_h = torch.stack([random_map(gen, tokens, channels) for _ in range(n)])
        case_dir = out / name
        case_dir.mkdir(parents=True, exist_ok=True)
        (case_dir / "global.f16").write_bytes(fp16_le(global_h))
        (case_dir / "locals.f16").write_bytes(fp16_le(locals_h))
        expected = {}
        for mode in MODES:
            fused = fuse(global_h.float(), locals_h.float(), rows, cols, channels, mode)
            assert fused.dtype == torch.float32
            (case_dir / f"{mode}.f32").write_bytes(fp32_le(fused))
            expected[mode] = f"{name}/{mode}.f32"
        manifest["cases"].append({
            "name": name,
            "cols": cols,
            "rows": rows,
            "channels": channels,
            "seed": seed,
            "global": {"file": f"{name}/global.f16", "dtype": "FP16",
                       "shape": [tokens, channels]},
            "locals": {"file": f"{name}/locals.f16", "dtype": "FP16",
                       "shape": [n, tokens, channels]},
            "expected": {mode: {"file": f, "dtype": "FP32",
                                "shape": [rows * PATCHES, cols * PATCHES, channels]}
                         for mode, f in expected.items()},
        })
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check(reference):
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        manifest = write(fresh)
        files = ["manifest.json"]
        for case in manifest["cases"]:
            files += [case["global"]["file"], case["locals"]["file"]]
            files += [e["file"] for e in case["expected"].values()]
        bad = []
        for f in files:
            if not (reference / f).is_file():
                bad.append(f"{f}: missing")
            elif not filecmp.cmp(fresh / f, reference / f, shallow=False):
                if f.endswith(".f32"):
                    a = np.frombuffer((fresh / f).read_bytes(), "<f4")
                    b = np.frombuffer((reference / f).read_bytes(), "<f4")
                    diff = np.abs(a - b).max() if a.shape == b.shape else "shape differs"
                    bad.append(f"{f}: differs (max abs diff {diff})")
                else:
                    bad.append(f"{f}: differs")
        for b in bad:
            print(b, file=sys.stderr)
        print(f"checked {len(files)} files: {len(bad)} differ", file=sys.stderr)
        return not bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temp dir and compare with --out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.check:
        sys.exit(0 if check(args.out) else 1)
    manifest = write(args.out)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(manifest['cases'])} cases to {args.out} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Builds a local model repository: the exported region sampler in place of the dev one.

    /usr/bin/python3 triton/region-sampler/make_local_repository.py --out DIR \
        [--checkpoint ferret.bin | --random-seed 7] [--hidden-size 4096]
    ./ferret up --model-repository DIR

DIR gets:
  ferret_region_sampler  the real-architecture sampler (export_onnx.py) with triton/'s contract and
                         a CPU instance: features FP16 [1, h, w, 1024], points, fps_start ->
                         region_feature FP16 [1, D]
  clip_vision, dinov2_vision, ferret_llm
                         the DEV models of inference-server/model-repository, the dev LLM's
                         region_embeddings set to width D, the sampler's output width

With random weights (no Ferret weights are public) the answer to a region question is well formed
and means nothing: this checks that the exported sampler is served and fits the pipeline, and
measures its cost. The vision towers and the LLM stay dev models (triton/README.md says what
remains for them).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEV = ROOT / "inference-server" / "model-repository"
REAL_SAMPLER_CONFIG = ROOT / "triton" / "model-repository" / "ferret_region_sampler" / "config.pbtxt"

sys.path.insert(0, str(HERE))
import export_onnx  # noqa: E402

REGION_INPUT = re.compile(
    r'(name: "region_embeddings"\s*data_type: TYPE_FP16\s*dims: \[ -1, )(\d+)( \])')
SAMPLER_OUTPUT = re.compile(r'(name: "region_feature"\s*data_type: TYPE_FP16\s*dims: \[ 1, )(\d+)( \])')


def sampler_config(width: int) -> str:
    """triton/'s config of the real sampler, on a CPU instance, with output width ``width``."""
    text = REAL_SAMPLER_CONFIG.read_text()
    text, n = SAMPLER_OUTPUT.subn(lambda m: f"{m.group(1)}{width}{m.group(3)}", text)
    if n != 1:
        raise SystemExit(f"{REAL_SAMPLER_CONFIG}: region_feature dims not found")
    text, n = re.subn(r"kind: KIND_GPU", "kind: KIND_CPU", text)
    if n != 1:
        raise SystemExit(f"{REAL_SAMPLER_CONFIG}: instance kind not found")
    return ("# LOCAL repository (make_local_repository.py): the real-architecture sampler on a CPU "
            "instance\n" + text)


def llm_config(width: int) -> str:
    """The dev LLM's config with region embeddings of width ``width``."""
    text = (DEV / "ferret_llm" / "config.pbtxt").read_text()
    text, n = REGION_INPUT.subn(lambda m: f"{m.group(1)}{width}{m.group(3)}", text)
    if n != 1:
        raise SystemExit("ferret_llm/config.pbtxt: region_embeddings dims not found")
    return (f"# LOCAL repository (make_local_repository.py): the dev LLM taking region embeddings of "
            f"width {width}\n# from the real-architecture sampler\n" + text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    export_onnx.add_weight_arguments(parser)
    args = parser.parse_args(argv)
    if args.hidden_size is None:
        args.hidden_size = export_onnx.SamplerConfig.real().output_dim
    if args.hidden_size < 3:
        parser.error("--hidden-size must be at least 3 (the dev LLM reads channels 0..2)")

    out = args.out
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    for model in ("clip_vision", "dinov2_vision"):
        shutil.copytree(DEV / model, out / model)
    (out / "ferret_llm").mkdir()
    (out / "ferret_llm" / "config.pbtxt").write_text(llm_config(args.hidden_size))

    export_args = argparse.Namespace(
        checkpoint=args.checkpoint, random_seed=args.random_seed, hidden_size=args.hidden_size,
        tiny=False, transpose_quirk=False, pooler="max")
    sampler = export_onnx.build(export_args)
    model = out / "ferret_region_sampler" / "1" / "model.onnx"
    with torch.no_grad():
        export_onnx.export(sampler, model)
    (out / "ferret_region_sampler" / "config.pbtxt").write_text(sampler_config(args.hidden_size))
    print(f"wrote {out}: ferret_region_sampler ({model.stat().st_size} bytes, D = {args.hidden_size}),"
          " dev clip_vision, dinov2_vision and ferret_llm")
    print(f"run: ./ferret up --model-repository {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

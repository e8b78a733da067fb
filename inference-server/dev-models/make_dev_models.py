#!/usr/bin/python3
"""Generates the Ferret Stream DEV MODELS (ONNX) for the inference server.

These are deterministic, analytic stand-ins with the production I/O contracts (see
triton/README.md). They are NOT the real Ferret-v2 encoders or region sampler.

  clip_vision / dinov2_vision
      pixels UINT8 [B,336,336,3] (RGB, NHWC) -> Cast float -> /255 -> (x - mean) / std per
      channel -> mean over each 14x14 patch (24x24 patches, row-major) -> features FP16
      [B,576,1024]: channels 0..2 = the patch's normalised mean R, G, B, channels 3..1023 = 0.
      (The graph averages first and normalises after: the same result, 196x less work.)
  ferret_region_sampler
      features FP16 [1,h,w,1024] (H_a, NHWC) + points FP32 [1,512,2] of (x, y) in [0,1] ->
      GridSample(bilinear, align_corners=1, zeros) at grid = 2*points - 1 with gx = x (column),
      gy = y (row) -> mean over the 512 points -> region_feature FP16 [1,1024] (D = 1024: the dev
      LLM's width). The third input, fps_start INT64 [1] (where the real sampler's farthest-point
      sampling starts), is taken and not used: a mean over all points does not depend on it.

Output is byte-identical on every run: fixed IR version and opset, fixed node and tensor names,
no timestamps, no random values.

Usage (Debian's python3-onnx + python3-numpy, i.e. /usr/bin/python3, not a pyenv python):
  /usr/bin/python3 inference-server/dev-models/make_dev_models.py            # rewrite checked-in models
  /usr/bin/python3 inference-server/dev-models/make_dev_models.py --out DIR  # write elsewhere
  /usr/bin/python3 inference-server/dev-models/make_dev_models.py --check    # compare with checked-in
"""

import argparse
import os
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover - reported to the caller
    sys.stderr.write(
        "make_dev_models.py needs numpy and onnx (Debian: apt-get install python3-onnx "
        "python3-numpy; run it with /usr/bin/python3): %s\n" % e
    )
    sys.exit(2)

OPSET = 17  # GridSample needs >= 16
IR_VERSION = 8  # pinned so that a newer onnx package writes the same bytes
PRODUCER = "ferret-stream make_dev_models.py"
PRODUCER_VERSION = "1"

TILE = 336
PATCH = 14
GRID = TILE // PATCH  # 24
TOKENS = GRID * GRID  # 576
CHANNELS = 1024
REGION_POINTS = 512

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

MODELS = ("clip_vision", "dinov2_vision", "ferret_region_sampler")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "model-repository"))


def const(name, values, dtype):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name=name)


def finish(graph, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    onnx.checker.check_model(model, full_check=True)
    return model


def encoder(name, mean, std, channels=CHANNELS):
    # The patch mean is taken first (on 0..255 values), then rescaled and normalised: the same
    # affine maps as normalising every pixel before averaging, on 196x fewer values.
    nodes = [
        helper.make_node("Cast", ["pixels"], ["x_float"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["x_float", "patch_shape"], ["x_patches"], name="split_patches"),
        helper.make_node(
            "ReduceMean", ["x_patches"], ["patch_mean"], name="patch_mean", axes=[2, 4], keepdims=0
        ),
        helper.make_node("Div", ["patch_mean", "c255"], ["x_unit"], name="rescale"),
        helper.make_node("Sub", ["x_unit", "mean"], ["x_centred"], name="sub_mean"),
        helper.make_node("Div", ["x_centred", "std"], ["x_norm"], name="div_std"),
        helper.make_node("Reshape", ["x_norm", "token_shape"], ["tokens3"], name="flatten_patches"),
        helper.make_node("Pad", ["tokens3", "pads", "zero"], ["tokens"], name="pad_channels", mode="constant"),
        helper.make_node("Cast", ["tokens"], ["features"], name="to_fp16", to=TensorProto.FLOAT16),
    ]
    inits = [
        const("c255", 255.0, np.float32),
        const("mean", mean, np.float32),
        const("std", std, np.float32),
        const("patch_shape", [-1, GRID, PATCH, GRID, PATCH, 3], np.int64),
        const("token_shape", [-1, TOKENS, 3], np.int64),
        const("pads", [0, 0, 0, 0, 0, channels - 3], np.int64),
        const("zero", 0.0, np.float32),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["batch", TILE, TILE, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT16, ["batch", TOKENS, channels])],
        initializer=inits,
    )
    return finish(
        graph,
        "Ferret Stream DEV MODEL %s (not the real encoder): per-patch normalised mean RGB in "
        "channels 0..2, zeros elsewhere. mean=%s std=%s" % (name, mean, std),
    )


def region_sampler():
    nodes = [
        helper.make_node("Cast", ["features"], ["f_float"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["f_float"], ["f_nchw"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Mul", ["points", "two"], ["p2"], name="scale_points"),
        helper.make_node("Sub", ["p2", "one"], ["grid3"], name="shift_points"),
        helper.make_node("Reshape", ["grid3", "grid_shape"], ["grid"], name="grid_nhw2"),
        helper.make_node(
            "GridSample",
            ["f_nchw", "grid"],
            ["sampled"],
            name="sample_points",
            align_corners=1,
            mode="bilinear",
            padding_mode="zeros",
        ),
        helper.make_node("ReduceMean", ["sampled"], ["pooled"], name="mean_points", axes=[2, 3], keepdims=0),
        helper.make_node("Cast", ["pooled"], ["region_feature"], name="to_fp16", to=TensorProto.FLOAT16),
    ]
    inits = [
        const("two", 2.0, np.float32),
        const("one", 1.0, np.float32),
        const("grid_shape", [1, 1, REGION_POINTS, 2], np.int64),
    ]
    graph = helper.make_graph(
        nodes,
        "ferret_region_sampler",
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT16, [1, "h", "w", CHANNELS]),
            helper.make_tensor_value_info("points", TensorProto.FLOAT, [1, REGION_POINTS, 2]),
            # the real sampler's contract; a mean over all points does not depend on it
            helper.make_tensor_value_info("fps_start", TensorProto.INT64, [1]),
        ],
        [helper.make_tensor_value_info("region_feature", TensorProto.FLOAT16, [1, CHANNELS])],
        initializer=inits,
    )
    return finish(
        graph,
        "Ferret Stream DEV MODEL ferret_region_sampler (not the real GeoRegionSampler): bilinear "
        "samples of H_a at the 512 points (gx = x, gy = y), averaged; fps_start is not used.",
    )


def build(name):
    if name == "clip_vision":
        return encoder(name, CLIP_MEAN, CLIP_STD)
    if name == "dinov2_vision":
        return encoder(name, IMAGENET_MEAN, IMAGENET_STD)
    if name == "ferret_region_sampler":
        return region_sampler()
    raise ValueError(name)


def model_path(root, name):
    return os.path.join(root, name, "1", "model.onnx")


def write_all(root, quiet=False):
    for name in MODELS:
        path = model_path(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = build(name).SerializeToString(deterministic=True)
        with open(path, "wb") as f:
            f.write(data)
        if not quiet:
            print("wrote %s (%d bytes)" % (path, len(data)))


def check(root):
    """Regenerates into a temporary directory and compares each file byte for byte."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ferret-dev-models-") as tmp:
        write_all(tmp, quiet=True)
        for name in MODELS:
            path = model_path(root, name)
            with open(model_path(tmp, name), "rb") as f:
                fresh = f.read()
            if not os.path.exists(path):
                print("MISSING %s" % path)
                failures += 1
                continue
            with open(path, "rb") as f:
                current = f.read()
            if current != fresh:
                print(
                    "MISMATCH %s (%d bytes) differs from a fresh build (%d bytes)"
                    % (path, len(current), len(fresh))
                )
                failures += 1
            else:
                print("ok %s" % path)
    if failures:
        print(
            "%d dev model(s) out of date; regenerate with: "
            "/usr/bin/python3 inference-server/dev-models/make_dev_models.py" % failures
        )
        return 1
    return 0


def write_light_encoder(root, channels):
    """A clip_vision with `channels` output channels, for benchmarks of batching itself: the same
    graph, 1024/channels times less output to move. Config copied from the dev repository."""
    path = model_path(root, "clip_vision")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(encoder("clip_vision", CLIP_MEAN, CLIP_STD, channels).SerializeToString(deterministic=True))
    with open(os.path.join(DEFAULT_OUT, "clip_vision", "config.pbtxt")) as f:
        config = f.read()
    if "dims: [ %d, %d ]" % (TOKENS, CHANNELS) not in config:
        raise SystemExit("clip_vision/config.pbtxt: output dims not found")
    config = config.replace("dims: [ %d, %d ]" % (TOKENS, CHANNELS), "dims: [ %d, %d ]" % (TOKENS, channels))
    with open(os.path.join(root, "clip_vision", "config.pbtxt"), "w") as f:
        f.write("# BENCHMARK-ONLY light dev encoder: %d output channels\n" % channels + config)
    print("wrote %s (%d channels)" % (path, channels))


def main(argv):
    parser = argparse.ArgumentParser(description="Generate the Ferret Stream dev ONNX models.")
    parser.add_argument(
        "--light-encoder-channels",
        type=int,
        help="instead: write only a clip_vision with this many output channels into --out (benchmarks)",
    )
    parser.add_argument("--out", help="model repository to write (default: %s)" % DEFAULT_OUT)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory and compare byte for byte with the models in --out (exit 1 on mismatch)",
    )
    args = parser.parse_args(argv)
    root = os.path.abspath(args.out) if args.out else DEFAULT_OUT
    if args.light_encoder_channels:
        if not args.out:
            raise SystemExit("--light-encoder-channels needs --out (never the dev repository)")
        write_light_encoder(root, args.light_encoder_channels)
        return 0
    if args.check:
        return check(root)
    write_all(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Single-thread Pillow baseline for the tiler pipeline.

For each image in --images (generated deterministically if the directory is missing), the
encoded bytes are read once, then the whole pipeline is repeated for --seconds after a warm-up:

  Image.open(BytesIO(data)) -> ImageOps.exif_transpose -> convert("RGB")        (decode)
  -> select_best_resolution (Ferret-v2 grid list, tile 336)
  -> resize((336, 336), BICUBIC).tobytes()                                       (global)
  -> resize((cols*336, rows*336), BICUBIC)  (stretch canvas)                     (canvas)
  -> crop each 336x336 tile, row-major, .tobytes()                               (crops)

Per image it reports ms/image (mean wall time of a full iteration), images/s, and the mean time
of each stage (timed separately, stage by stage, inside the same iterations).

  /usr/bin/python3 tiler-service/bench/pillow_bench.py [--images DIR] [--seconds S] [--json FILE]
"""

import argparse
import io
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps

TILE = 336
GRIDS = [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (1, 4), (4, 1), (1, 5), (5, 1), (1, 6),
         (6, 1), (2, 2), (2, 3), (3, 2)]  # (cols, rows)
IMAGES = [("photo-1920x1080.jpg", 1920, 1080, 1), ("photo-4032x3024.jpg", 4032, 3024, 2),
          ("photo-1000x1000.png", 1000, 1000, 3)]


def select_best_resolution(width, height):
    best, best_eff, best_waste = None, -1, float("inf")
    for cols, rows in GRIDS:
        cw, ch = cols * TILE, rows * TILE
        scale = min(cw / width, ch / height)
        eff = min(int(width * scale) * int(height * scale), width * height)
        waste = cw * ch - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (cols, rows), eff, waste
    return best


# ---------------------------------------------------------------------------------------------
# Deterministic photo-like images
# ---------------------------------------------------------------------------------------------

def _octaves(w, h, rng, octaves=5, base_cells=4.0):
    """Sum of bicubic-upsampled random grids (float32 HxW, roughly [-1, 1])."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        cell = max(w, h) / (base_cells * 2 ** k)
        gw, gh = max(2, int(round(w / cell)) + 2), max(2, int(round(h / cell)) + 2)
        grid = rng.uniform(-1, 1, size=(gh, gw)).astype(np.float32)
        out += amp * np.asarray(Image.fromarray(grid, "F").resize((w, h), Image.BICUBIC))
        total += amp
        amp *= 0.55
    return out / total


def photo_like(w, h, seed):
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    shared = _octaves(w, h, rng)
    for c in range(3):
        img[..., c] = 125 + 75 * shared + 40 * _octaves(w, h, rng, octaves=4)
    # a dozen blended discs with soft 2-px edges
    for _ in range(12):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.03, 0.15) * math.sqrt(w * h)
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        alpha = rng.uniform(0.3, 0.8)
        x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
        y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        a = (alpha * np.clip((r - d) / 2.0 + 0.5, 0, 1))[..., None]
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + colour * a
    # Gaussian sensor noise, sigma 4, one row band at a time to keep memory low
    for y in range(0, h, 512):
        band = img[y:y + 512]
        band += rng.normal(0, 4.0, size=band.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def ensure_images(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for name, w, h, seed in IMAGES:
        path = directory / name
        if path.exists():
            continue
        print("generating %s ..." % path, flush=True)
        im = Image.fromarray(photo_like(w, h, seed), "RGB")
        if name.endswith(".jpg"):
            im.save(path, "JPEG", quality=90)
        else:
            im.save(path, "PNG")


# ---------------------------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------------------------

def run_once(data, t):
    """One pipeline iteration; adds stage times (seconds) into t; returns (w, h, grid)."""
    s0 = time.perf_counter()
    im = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(im)
    rgb = im.convert("RGB")
    s1 = time.perf_counter()
    w, h = rgb.size
    cols, rows = select_best_resolution(w, h)
    s2 = time.perf_counter()
    rgb.resize((TILE, TILE), Image.BICUBIC).tobytes()
    s3 = time.perf_counter()
    canvas = rgb.resize((cols * TILE, rows * TILE), Image.BICUBIC)
    s4 = time.perf_counter()
    for y in range(0, rows * TILE, TILE):
        for x in range(0, cols * TILE, TILE):
            canvas.crop((x, y, x + TILE, y + TILE)).tobytes()
    s5 = time.perf_counter()
    t["decode"] += s1 - s0
    t["select"] += s2 - s1
    t["global"] += s3 - s2
    t["canvas"] += s4 - s3
    t["crop"] += s5 - s4
    return w, h, (cols, rows)


def bench_image(path, seconds, warmup=2):
    data = path.read_bytes()
    scratch = dict.fromkeys(("decode", "select", "global", "canvas", "crop"), 0.0)
    for _ in range(warmup):
        w, h, grid = run_once(data, scratch)
    t = dict.fromkeys(scratch, 0.0)
    n = 0
    start = time.perf_counter()
    while True:
        run_once(data, t)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    ms = elapsed * 1000.0 / n
    return {"image": path.name, "width": w, "height": h, "grid": "%dx%d" % grid,
            "iterations": n, "msPerImage": round(ms, 3),
            "imagesPerSecond": round(1000.0 / ms, 3),
            "decodeMs": round(t["decode"] * 1000.0 / n, 3),
            "globalMs": round(t["global"] * 1000.0 / n, 3),
            "canvasMs": round(t["canvas"] * 1000.0 / n, 3),
            "cropMs": round(t["crop"] * 1000.0 / n, 3)}


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description="Single-thread Pillow tiling benchmark")
    ap.add_argument("--images", default="target/bench-images",
                    help="image directory, generated if missing (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="timed seconds per image after warm-up (default: %(default)s)")
    ap.add_argument("--json", help="write results as JSON to this file")
    args = ap.parse_args()

    directory = Path(args.images)
    ensure_images(directory)
    paths = [directory / name for name, _, _, _ in IMAGES]
    paths += sorted(p for p in directory.iterdir()
                    if p.is_file() and p not in paths
                    and p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"))
    results = []
    for path in paths:
        results.append(bench_image(path, args.seconds))

    report = {"tool": "pillow", "pillow": PIL.__version__, "python": platform.python_version(),
              "cpu": cpu_model(), "images": results}
    print("Pillow %s, Python %s, %s, 1 thread, %.1f s per image"
          % (report["pillow"], report["python"], report["cpu"], args.seconds))
    header = ("image", "size", "grid", "iters", "ms/image", "img/s", "decode", "global",
              "canvas", "crops")
    fmt = "%-22s %-10s %-5s %6s %9s %8s %8s %8s %8s %8s"
    print(fmt % header)
    for r in results:
        print(fmt % (r["image"], "%dx%d" % (r["width"], r["height"]), r["grid"], r["iterations"],
                     "%.2f" % r["msPerImage"], "%.2f" % r["imagesPerSecond"],
                     "%.2f" % r["decodeMs"], "%.2f" % r["globalMs"], "%.2f" % r["canvasMs"],
                     "%.2f" % r["cropMs"]))
    print("(stage columns are mean ms per image; ms/image also includes grid selection)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print("wrote " + args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

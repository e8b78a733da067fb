#!/usr/bin/python3
"""Generate the tiler-service Pillow parity corpus.

The tiler service must decode images and cut Ferret-v2 "any-resolution" tiles exactly as Pillow
does.  This script writes a small, deterministic corpus that the Java tests compare against:

  <out>/manifest.json            list of cases (see below), Pillow version, tile size, grid list
  <out>/inputs/...               the input images (synthetic content, seeded numpy RNG)
  <out>/decode/<name>.png        decode cases: 8-bit RGB PNG of what Pillow gives for
                                     im = Image.open(path); im = ImageOps.exif_transpose(im)
                                     rgb = im.convert("RGB")
  <out>/tile/<name>/             tile cases: exactly what `./ferret tile IMAGE OUTDIR --mode M`
                                 writes: grid.json, global.png, tile-<index>.png

Tile pipeline (Ferret-v2 defaults, tile 336, grid list GRIDS below in this order):
  rgb as above -> select_best_resolution (LLaVA) -> canvas
    stretch: rgb.resize((cw, ch), BICUBIC)
    pad:     LLaVA resize_and_pad_image: aspect-preserving BICUBIC resize, pasted centred on black
  -> tiles = 336x336 crops of the canvas, row-major; global = rgb.resize((336, 336), BICUBIC).

Everything is generated from fixed seeds with fixed save parameters, so rerunning the script with
the same Pillow / libjpeg-turbo / libwebp / numpy reproduces the same pixels.

Usage (from the repository root):
  /usr/bin/python3 tiler-service/parity/make_parity_corpus.py            # (re)write the corpus
  /usr/bin/python3 tiler-service/parity/make_parity_corpus.py --out DIR  # write elsewhere
  /usr/bin/python3 tiler-service/parity/make_parity_corpus.py --check    # regenerate into a temp
      dir and compare decoded pixels / parsed JSON with the checked-in corpus; exit 1 on any diff
"""

import argparse
import json
import math
import shutil
import struct
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps

TILE = 336
GRIDS = [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (1, 4), (4, 1), (1, 5), (5, 1), (1, 6),
         (6, 1), (2, 2), (2, 3), (3, 2)]  # (cols, rows)
GENERATOR = "tiler-service/parity/make_parity_corpus.py"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "test" / "resources" / "parity"
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}


# --------------------------------------------------------------------------------------------
# Ferret-v2 tiling (reference semantics)
# --------------------------------------------------------------------------------------------

def select_best_resolution(width, height, grids=GRIDS, tile=TILE):
    """LLaVA select_best_resolution over (cols*tile, rows*tile) candidates; returns (cols, rows)."""
    best = None
    best_eff = -1
    best_waste = float("inf")
    for cols, rows in grids:
        cw, ch = cols * tile, rows * tile
        scale = min(cw / width, ch / height)
        dw, dh = int(width * scale), int(height * scale)
        eff = min(dw * dh, width * height)
        waste = cw * ch - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (cols, rows), eff, waste
    return best


def pad_geometry(width, height, cw, ch):
    """LLaVA resize_and_pad_image geometry: (new_w, new_h, paste_x, paste_y)."""
    sw = cw / width
    sh = ch / height
    if sw < sh:
        nw = cw
        nh = min(math.ceil(height * sw), ch)
    else:
        nh = ch
        nw = min(math.ceil(width * sh), cw)
    return nw, nh, (cw - nw) // 2, (ch - nh) // 2


def pillow_rgb(path):
    with warnings.catch_warnings():
        # Pillow warns about P images whose tRNS is per-entry alpha; the conversion is what we
        # want to record, the warning is noise.
        warnings.filterwarnings("ignore", message="Palette images with Transparency")
        im = Image.open(path)
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def tile_image(rgb, mode, grids=GRIDS, tile=TILE):
    """Returns (grid_dict, global_image, [tile images])."""
    width, height = rgb.size
    cols, rows = select_best_resolution(width, height, grids, tile)
    cw, ch = cols * tile, rows * tile
    if mode == "stretch":
        canvas = rgb.resize((cw, ch), Image.BICUBIC)
        cx, cy, cwid, chei = 0, 0, cw, ch
    elif mode == "pad":
        nw, nh, cx, cy = pad_geometry(width, height, cw, ch)
        resized = rgb.resize((nw, nh), Image.BICUBIC)
        canvas = Image.new("RGB", (cw, ch), (0, 0, 0))
        canvas.paste(resized, (cx, cy))
        cwid, chei = nw, nh
    else:
        raise ValueError(mode)
    tiles, rects = [], []
    index = 0
    for y in range(0, ch, tile):
        for x in range(0, cw, tile):
            tiles.append(canvas.crop((x, y, x + tile, y + tile)))
            rects.append({"index": index, "x0": x, "y0": y, "x1": x + tile, "y1": y + tile})
            index += 1
    grid = {"width": width, "height": height, "cols": cols, "rows": rows, "mode": mode,
            "canvasWidth": cw, "canvasHeight": ch, "contentX": cx, "contentY": cy,
            "contentWidth": cwid, "contentHeight": chei, "tiles": rects}
    glob = rgb.resize((tile, tile), Image.BICUBIC)
    return grid, glob, tiles


def self_test():
    """The worked examples of ferret-v2.md section 1."""
    cases = [((640, 480), (2, 2), (672, 504)), ((480, 640), (2, 2), (504, 672)),
             ((1024, 1024), (2, 2), (672, 672)), ((1920, 1080), (3, 2), (1008, 567)),
             ((200, 150), (1, 1), (336, 252)), ((3000, 500), (6, 1), (2016, 336)),
             ((800, 1200), (2, 3), (672, 1008)), ((1170, 2532), (2, 3), (466, 1008))]
    for (w, h), grid, content in cases:
        got = select_best_resolution(w, h)
        assert got == grid, ((w, h), got, grid)
        nw, nh, _, _ = pad_geometry(w, h, grid[0] * TILE, grid[1] * TILE)
        assert (nw, nh) == content, ((w, h), (nw, nh), content)
    assert pad_geometry(1920, 1080, 1008, 672)[3] == 52


# --------------------------------------------------------------------------------------------
# Synthetic content
# --------------------------------------------------------------------------------------------

def smooth_field(w, h, rng, octaves=3, base_cells=3.0):
    """Sum of bicubic-upsampled random grids; float32 HxW, roughly in [-1, 1]."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    longest = max(w, h)
    for k in range(octaves):
        cell = longest / (base_cells * (2 ** k))
        gw = max(2, int(round(w / cell)) + 2)
        gh = max(2, int(round(h / cell)) + 2)
        grid = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)
        up = Image.fromarray(grid, "F").resize((w, h), Image.BICUBIC)
        out += amp * np.asarray(up, np.float32)
        total += amp
        amp *= 0.5
    return out / total


def add_discs(img, rng, count, hard=True):
    """Blends `count` solid discs into float HxWx3 img (in place)."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.3) * math.sqrt(w * h)
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        alpha = rng.uniform(0.35, 0.85)
        mask = ((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r
        img[mask] = img[mask] * (1 - alpha) + colour * alpha
    return img


def photo_like(w, h, seed, noise=0.0, discs=8):
    """Smooth photo-like float HxWx3 image in [0, 255] (gradients, blobs, hard-edged discs)."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    base = smooth_field(w, h, rng, octaves=4)
    for c in range(3):
        img[..., c] = 128 + 70 * base + 45 * smooth_field(w, h, rng, octaves=3)
    add_discs(img, rng, discs)
    if noise > 0:
        img += rng.normal(0, noise, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


def small_content(w, h, seed):
    """Small test picture: gradients (smooth), hard-edged shapes and 1-px lines (sharp), a noisy
    band, and a red marker in the top-left corner (makes orientation mistakes visible).
    Float HxWx3 in [0, 255]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 255 * xx / (w - 1)
    img[..., 1] = 255 * yy / (h - 1)
    img[..., 2] = 255 * (1 - (xx + yy) / (w + h - 2))
    img += 30 * smooth_field(w, h, rng, octaves=2)[..., None]
    # hard-edged rectangles and a disc
    for _ in range(3):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 16))
        x1, y1 = x0 + int(rng.integers(8, 30)), y0 + int(rng.integers(6, 24))
        img[y0:y1, x0:x1] = rng.uniform(0, 255, size=3)
    add_discs(img, rng, 2)
    # 1-px lines, black and white
    img[h // 2, :, :] = 0
    img[:, (2 * w) // 3, :] = 255
    # noisy band on the right quarter
    band = slice((3 * w) // 4, w)
    img[:, band] += rng.normal(0, 18, size=img[:, band].shape)
    # orientation marker
    img[2:12, 2:16] = (255, 0, 0)
    img[2:6, 2:6] = (0, 0, 255)
    return np.clip(img, 0, 255)


def to_u8(img):
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def to_u16(img, rng, fine=True):
    v = img.astype(np.float64) * 257.0
    if fine:  # give the low bytes some life so truncation vs rounding is visible
        v += rng.uniform(-128, 128, size=v.shape)
    return np.clip(np.rint(v), 0, 65535).astype(np.uint16)


# --------------------------------------------------------------------------------------------
# Minimal PNG encoder (Pillow cannot write 16-bit RGB(A) or interlaced PNGs)
# --------------------------------------------------------------------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # (x start, y start, x step, y step)


def _chunk(tag, data):
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))


def _raw_rows(samples, bit_depth):
    """samples: HxWxC integer array -> list of raw scanline byte strings."""
    h, w, c = samples.shape
    if bit_depth == 16:
        data = samples.astype(">u2").reshape(h, w * c)
        return [data[y].tobytes() for y in range(h)]
    if bit_depth == 8:
        data = samples.astype(np.uint8).reshape(h, w * c)
        return [data[y].tobytes() for y in range(h)]
    assert c == 1 and bit_depth in (1, 2, 4)
    per_byte = 8 // bit_depth
    rows = []
    for y in range(h):
        vals = samples[y, :, 0].astype(np.uint8)
        pad = (-w) % per_byte
        vals = np.concatenate([vals, np.zeros(pad, np.uint8)]).reshape(-1, per_byte)
        packed = np.zeros(vals.shape[0], np.uint8)
        for i in range(per_byte):
            packed |= (vals[:, i] << (8 - bit_depth * (i + 1))).astype(np.uint8)
        rows.append(packed.tobytes())
    return rows


def _filter_rows(rows, bpp, first_filter=0):
    """Applies filter types cycling 0..4 (row i gets (first_filter + i) % 5)."""
    out = bytearray()
    prev = np.zeros(len(rows[0]), np.int16) if rows else None
    for i, row in enumerate(rows):
        cur = np.frombuffer(row, np.uint8).astype(np.int16)
        left = np.concatenate([np.zeros(bpp, np.int16), cur[:-bpp]]) if len(cur) > bpp \
            else np.zeros(len(cur), np.int16)
        upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]]) if len(prev) > bpp \
            else np.zeros(len(cur), np.int16)
        ftype = (first_filter + i) % 5
        if ftype == 0:
            res = cur
        elif ftype == 1:
            res = cur - left
        elif ftype == 2:
            res = cur - prev
        elif ftype == 3:
            res = cur - ((left + prev) >> 1)
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            res = cur - pred
        out.append(ftype)
        out += (res & 0xFF).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def encode_png(samples, color_type, bit_depth, interlace=False, palette=None, trns=None,
               extra_chunks=()):
    """samples: HxW or HxWxC integer array already in the target range."""
    if samples.ndim == 2:
        samples = samples[..., None]
    h, w, c = samples.shape
    bpp = max(1, c * bit_depth // 8)
    if interlace:
        data = b""
        for p, (xs, ys, dx, dy) in enumerate(ADAM7):
            sub = samples[ys::dy, xs::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            data += _filter_rows(_raw_rows(sub, bit_depth), bpp, first_filter=p)
    else:
        data = _filter_rows(_raw_rows(samples, bit_depth), bpp)
    out = b"\x89PNG\r\n\x1a\n"
    out += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0,
                                       1 if interlace else 0))
    for tag, payload in extra_chunks:
        out += _chunk(tag, payload)
    if palette is not None:
        out += _chunk(b"PLTE", bytes(palette))
    if trns is not None:
        out += _chunk(b"tRNS", bytes(trns))
    out += _chunk(b"IDAT", zlib.compress(data, 9))
    out += _chunk(b"IEND", b"")
    return out


# --------------------------------------------------------------------------------------------
# Hand-made GIF (Pillow always writes the first frame at full logical-screen size)
# --------------------------------------------------------------------------------------------

def _gif_lzw_uncompressed(indices, min_code_size=8):
    """LZW stream that only uses literal codes, with a clear code often enough that the code
    width stays at min_code_size + 1 (a valid, if uncompressed, GIF stream)."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    width = min_code_size + 1
    codes = []
    run = 0
    limit = (1 << width) - (1 << min_code_size) - 3  # literals per clear, table never grows
    codes.append(clear)
    for v in indices:
        if run == limit:
            codes.append(clear)
            run = 0
        codes.append(int(v))
        run += 1
    codes.append(end)
    bits, nbits, out = 0, 0, bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    blocks = bytearray([min_code_size])
    for i in range(0, len(out), 255):
        part = out[i:i + 255]
        blocks.append(len(part))
        blocks += part
    blocks.append(0)
    return bytes(blocks)


def encode_gif_offset(screen_w, screen_h, background, palette, frame, left, top,
                      transparent=None):
    """GIF89a with one frame (HxW palette indices) placed at (left, top) on a larger screen."""
    fh, fw = frame.shape
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", screen_w, screen_h, 0xF7, background, 0)  # 256-entry GCT
    out += bytes(palette)
    if transparent is not None:
        out += b"\x21\xF9\x04" + struct.pack("<BHB", 0x01, 0, transparent) + b"\x00"
    out += b"\x2C" + struct.pack("<HHHHB", left, top, fw, fh, 0)
    out += _gif_lzw_uncompressed(frame.reshape(-1))
    out += b"\x3B"
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Palette helpers
# --------------------------------------------------------------------------------------------

def cube_palette():
    """216-colour 6x6x6 cube + 40 greys = 256 entries (flat list of 768 ints)."""
    pal = []
    for r in range(6):
        for g in range(6):
            for b in range(6):
                pal += [r * 51, g * 51, b * 51]
    for i in range(40):
        v = int(round(i * 255 / 39))
        pal += [v, v, v]
    return pal


def to_cube_indices(img):
    q = np.clip(np.rint(img / 51.0), 0, 5).astype(np.int32)
    return (q[..., 0] * 36 + q[..., 1] * 6 + q[..., 2]).astype(np.uint8)


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# --------------------------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------------------------

def make_decode_inputs(inputs):
    """Writes the decode inputs; returns [(name, filename, what)]."""
    cases = []

    def add(name, filename, what):
        cases.append((name, "inputs/" + filename, what))

    def p(filename):
        return inputs / filename

    rgb = to_u8(small_content(160, 120, 101))
    im = Image.fromarray(rgb, "RGB")

    # ---- JPEG
    im.save(p("jpeg-baseline-420.jpg"), "JPEG", quality=90, subsampling=2)
    add("jpeg-baseline-420", "jpeg-baseline-420.jpg", "baseline JPEG, YCbCr 4:2:0, quality 90")
    im.save(p("jpeg-444.jpg"), "JPEG", quality=90, subsampling=0)
    add("jpeg-444", "jpeg-444.jpg", "baseline JPEG, YCbCr 4:4:4 (no chroma subsampling), q90")
    im.save(p("jpeg-progressive.jpg"), "JPEG", quality=90, subsampling=2, progressive=True)
    add("jpeg-progressive", "jpeg-progressive.jpg", "progressive JPEG, 4:2:0, quality 90")
    grey = to_u8(small_content(160, 120, 102).mean(axis=2))
    Image.fromarray(grey, "L").save(p("jpeg-grey.jpg"), "JPEG", quality=90)
    add("jpeg-grey", "jpeg-grey.jpg", "greyscale (1-component) JPEG; grey replicated to R=G=B")
    c1 = small_content(160, 120, 103)
    c2 = small_content(160, 120, 104)
    cmyk = np.stack([c1[..., 0], c1[..., 1], c2[..., 2],
                     0.6 * c2[..., 0] * (np.arange(160)[None, :] / 159.0)], axis=2)
    Image.fromarray(to_u8(cmyk), "CMYK").save(p("jpeg-cmyk.jpg"), "JPEG", quality=90)
    add("jpeg-cmyk", "jpeg-cmyk.jpg",
        "4-component CMYK JPEG as Pillow writes it (Adobe APP14, inverted storage); Pillow's "
        "naive CMYK->RGB, no colour management")
    # YCCK: the same kind of 4-component JPEG with its Adobe APP14 transform byte set to 2, so
    # every decoder reads the first three components as YCbCr (libjpeg's YCCK -> CMYK), then K
    data = bytearray(p("jpeg-cmyk.jpg").read_bytes())
    adobe = data.find(b"\xff\xee\x00\x0eAdobe")
    if adobe < 0 or data[adobe + 15] != 0:
        raise SystemExit("jpeg-ycck: Pillow's CMYK JPEG has no Adobe APP14 with transform 0")
    data[adobe + 15] = 2
    p("jpeg-ycck.jpg").write_bytes(bytes(data))
    add("jpeg-ycck", "jpeg-ycck.jpg",
        "4-component JPEG with Adobe transform 2 (YCCK): YCC->RGB inverted into CMY by libjpeg's "
        "rules, then Pillow's CMYK->RGB")
    orient_src = Image.fromarray(to_u8(small_content(120, 80, 105)), "RGB")
    for o in range(2, 9):
        fn = "jpeg-exif-orientation-%d.jpg" % o
        orient_src.save(p(fn), "JPEG", quality=90, exif=exif_bytes(o))
        add("jpeg-exif-orientation-%d" % o, fn,
            "120x80 JPEG with EXIF Orientation %d; exif_transpose applies it%s"
            % (o, " (displayed 80x120)" if o >= 5 else ""))

    # ---- PNG
    im.save(p("png-rgb8.png"), "PNG", compress_level=9)
    add("png-rgb8", "png-rgb8.png", "8-bit RGB PNG")
    rgba_f = small_content(160, 120, 106)
    yy, xx = np.mgrid[0:120, 0:160]
    alpha = np.clip(255 * xx / 159.0, 0, 255)
    alpha[:, :20] = 0          # fully transparent strip: its RGB must still come through
    alpha[100:, :] = 255
    rgba = np.dstack([to_u8(rgba_f), to_u8(alpha)])
    Image.fromarray(rgba, "RGBA").save(p("png-rgba8.png"), "PNG", compress_level=9)
    add("png-rgba8", "png-rgba8.png",
        "8-bit RGBA PNG with a fully transparent strip; convert('RGB') drops alpha")
    rng = np.random.default_rng(107)
    rgb16 = to_u16(small_content(160, 120, 107), rng)
    p("png-rgb16.png").write_bytes(encode_png(rgb16, 2, 16))
    add("png-rgb16", "png-rgb16.png",
        "16-bit RGB PNG (written by this script's encoder; Pillow cannot write it)")
    a16 = to_u16(np.repeat(alpha[..., None], 1, axis=2), rng)
    rgba16 = np.concatenate([to_u16(small_content(160, 120, 108), rng), a16], axis=2)
    p("png-rgba16.png").write_bytes(encode_png(rgba16, 6, 16))
    add("png-rgba16", "png-rgba16.png",
        "16-bit RGBA PNG (written by this script's encoder; Pillow cannot write it)")
    Image.fromarray(grey, "L").save(p("png-grey8.png"), "PNG", compress_level=9)
    add("png-grey8", "png-grey8.png", "8-bit greyscale PNG")
    g = small_content(160, 120, 109).mean(axis=2)
    g16 = np.empty((120, 160), np.float64)
    g16[:60] = g[:60] * (511.0 / 255.0)          # top half: 0..511, around the 8-bit limit
    g16[60:] = g[60:] * 257.0                    # bottom half: full 16-bit range
    g16 = np.clip(np.rint(g16 + rng.uniform(-3, 3, size=g16.shape)), 0, 65535)
    Image.fromarray(g16.astype(np.uint16), "I;16").save(p("png-grey16.png"), "PNG",
                                                         compress_level=9)
    add("png-grey16", "png-grey16.png",
        "16-bit greyscale PNG (Pillow mode I;16 -> opened as I); top half 0..511, bottom half "
        "full range")
    la = np.dstack([grey, to_u8(alpha)])
    Image.fromarray(la, "LA").save(p("png-la.png"), "PNG", compress_level=9)
    add("png-la", "png-la.png", "8-bit grey + alpha PNG; alpha dropped, grey replicated")
    pal = cube_palette()
    idx = to_cube_indices(small_content(160, 120, 110).astype(np.float32))
    pim = Image.fromarray(idx, "P")
    pim.putpalette(pal)
    trns = bytes([(i * 37) % 256 if i % 3 else 0 for i in range(256)])
    pim.save(p("png-palette-trns.png"), "PNG", transparency=trns, compress_level=9)
    add("png-palette-trns", "png-palette-trns.png",
        "8-bit palette PNG with a tRNS chunk (per-entry alpha incl. 0); palette colour kept")
    idx4 = (to_cube_indices(small_content(160, 120, 111)) % 16).astype(np.uint8)
    p4 = Image.fromarray(idx4, "P")
    p4.putpalette([int(v) for v in np.random.default_rng(111).integers(0, 256, size=48)])
    p4.save(p("png-palette-4bit.png"), "PNG", bits=4, compress_level=9)
    add("png-palette-4bit", "png-palette-4bit.png", "4-bit palette PNG (16 colours, bits=4)")
    bw = (small_content(160, 120, 112).mean(axis=2) > 120)
    Image.fromarray(bw).convert("1").save(p("png-1bit.png"), "PNG", compress_level=9)
    add("png-1bit", "png-1bit.png", "1-bit greyscale PNG (mode '1'); 0 -> black, 1 -> white")
    inter = to_u8(small_content(157, 113, 113))  # odd size: partial Adam7 blocks
    p("png-interlaced-rgb.png").write_bytes(encode_png(inter, 2, 8, interlace=True))
    add("png-interlaced-rgb", "png-interlaced-rgb.png",
        "Adam7-interlaced 8-bit RGB PNG, 157x113 (written by this script's encoder, every "
        "filter type used)")
    pex = Image.fromarray(to_u8(small_content(120, 80, 114)), "RGB")
    pex.save(p("png-exif-orientation-6.png"), "PNG", exif=exif_bytes(6), compress_level=9)
    add("png-exif-orientation-6", "png-exif-orientation-6.png",
        "120x80 PNG with an eXIf chunk, Orientation 6 (displayed 80x120)")

    # ---- GIF
    f1 = Image.fromarray(to_cube_indices(small_content(160, 120, 115)), "P")
    f1.putpalette(pal)
    f2 = Image.fromarray(to_cube_indices(255 - small_content(160, 120, 116)), "P")
    f2.putpalette(pal)
    f1.save(p("gif-animated.gif"), "GIF", save_all=True, append_images=[f2], duration=200,
            loop=0)
    add("gif-animated", "gif-animated.gif", "animated GIF, 2 frames; only frame 1 counts")
    gpal = list(pal)
    gpal[0:3] = [255, 0, 255]        # index 0: magenta
    gpal[5 * 3:5 * 3 + 3] = [0, 255, 0]  # background index 5: green
    gpal[7 * 3:7 * 3 + 3] = [0, 0, 255]  # transparent index 7 (trns variant): blue
    fr = to_cube_indices(small_content(80, 60, 117))
    fr[fr == 0] = 1
    fr[(fr == 5) | (fr == 7)] = 6
    p("gif-offset-frame.gif").write_bytes(encode_gif_offset(160, 120, 5, gpal, fr, 50, 30))
    add("gif-offset-frame", "gif-offset-frame.gif",
        "GIF, 160x120 screen, first (only) frame 80x60 at (50,30), background index 5 (green), "
        "palette index 0 magenta, no transparency: the area outside the frame")
    p("gif-offset-frame-trns.gif").write_bytes(
        encode_gif_offset(160, 120, 5, gpal, fr, 50, 30, transparent=7))
    add("gif-offset-frame-trns", "gif-offset-frame-trns.gif",
        "as gif-offset-frame but with a Graphic Control Extension, transparent index 7 (blue)")

    # ---- BMP
    im.save(p("bmp-24.bmp"), "BMP")
    add("bmp-24", "bmp-24.bmp", "24-bit BMP (bottom-up)")
    bp = Image.fromarray(to_cube_indices(small_content(160, 120, 118)), "P")
    bp.putpalette(pal)
    bp.save(p("bmp-8bit-palette.bmp"), "BMP")
    add("bmp-8bit-palette", "bmp-8bit-palette.bmp", "8-bit palette BMP (256 entries)")

    # ---- WebP
    im.save(p("webp-lossless.webp"), "WEBP", lossless=True, quality=100, method=4)
    add("webp-lossless", "webp-lossless.webp", "lossless WebP (VP8L), RGB")
    im.save(p("webp-lossy.webp"), "WEBP", quality=90, method=4)
    add("webp-lossy", "webp-lossy.webp",
        "lossy WebP (VP8) quality 90; YUV 4:2:0 -> RGB as libwebp does it")
    Image.fromarray(rgba, "RGBA").save(p("webp-alpha.webp"), "WEBP", lossless=True,
                                       quality=100, method=4, exact=True)
    add("webp-alpha", "webp-alpha.webp",
        "lossless WebP with alpha (RGBA, exact=True so the RGB under alpha 0 is kept); alpha "
        "dropped by convert('RGB')")
    return cases


def make_tile_inputs(inputs):
    """Writes the tile inputs; returns [(name, filename, mode, what)]."""
    cases = []
    written = {}

    def src(filename, w, h, seed, fmt, exif=None):
        if filename in written:
            return "inputs/" + filename
        noise = 1.0 if fmt == "JPEG" else 0.0
        arr = to_u8(photo_like(w, h, seed, noise=noise))
        im = Image.fromarray(arr, "RGB")
        if fmt == "JPEG":
            kw = {"quality": 90}
            if exif is not None:
                kw["exif"] = exif_bytes(exif)
            im.save(inputs / filename, "JPEG", **kw)
        else:
            im.save(inputs / filename, "PNG", compress_level=9)
        written[filename] = True
        return "inputs/" + filename

    def add(name, path, mode, what):
        cases.append((name, path, mode, what))

    f = src("tile-640x480.png", 640, 480, 201, "PNG")
    add("tile-640x480-png-stretch", f, "stretch", "640x480 -> 2x2, upscale stretch")
    add("tile-640x480-png-pad", f, "pad", "640x480 -> 2x2, pad (672x504 content, 84 px bars)")
    f = src("tile-200x150.png", 200, 150, 202, "PNG")
    add("tile-200x150-png-stretch", f, "stretch", "200x150 -> 1x1 (fits one tile)")
    f = src("tile-1920x1080.jpg", 1920, 1080, 203, "JPEG")
    add("tile-1920x1080-jpeg-stretch", f, "stretch", "1920x1080 JPEG -> 3x2, downscale")
    add("tile-1920x1080-jpeg-pad", f, "pad", "1920x1080 JPEG -> 3x2, pad (1008x567 at y=52)")
    f = src("tile-3000x500.jpg", 3000, 500, 204, "JPEG")
    add("tile-3000x500-jpeg-stretch", f, "stretch", "3000x500 JPEG -> 6x1")
    f = src("tile-500x3000.jpg", 500, 3000, 205, "JPEG")
    add("tile-500x3000-jpeg-stretch", f, "stretch", "500x3000 JPEG -> 1x6")
    f = src("tile-800x1200.png", 800, 1200, 206, "PNG")
    add("tile-800x1200-png-stretch", f, "stretch", "800x1200 -> 2x3, exact aspect (0.84)")
    f = src("tile-1170x2532.jpg", 1170, 2532, 207, "JPEG")
    add("tile-1170x2532-jpeg-pad", f, "pad", "1170x2532 JPEG -> 2x3, pad (466x1008 at x=103)")
    f = src("tile-1x1.png", 1, 1, 208, "PNG")
    add("tile-1x1-png-stretch", f, "stretch", "1x1 image -> 1x1, constant tiles")
    f = src("tile-7x2000.png", 7, 2000, 209, "PNG")
    add("tile-7x2000-png-stretch", f, "stretch", "7x2000, extreme tall aspect")
    f = src("tile-2000x7.png", 2000, 7, 210, "PNG")
    add("tile-2000x7-png-stretch", f, "stretch", "2000x7, extreme wide aspect")
    f = src("tile-1000x600-exif6.jpg", 1000, 600, 211, "JPEG", exif=6)
    add("tile-1000x600-jpeg-exif6-stretch", f, "stretch",
        "1000x600 JPEG with EXIF Orientation 6: grid chosen for the displayed 600x1000")
    f = src("tile-1024x1024.png", 1024, 1024, 212, "PNG")
    add("tile-1024x1024-png-stretch", f, "stretch", "1024x1024 -> 2x2, downscale, no waste")
    return cases


def save_png(im, path):
    im.save(path, "PNG", optimize=True)


def write_json(obj, path):
    path.write_text(json.dumps(obj, indent=2) + "\n")


def generate(out):
    self_test()
    out = Path(out)
    if out.exists():
        for sub in ("inputs", "decode", "tile", "manifest.json"):
            target = out / sub
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    for sub in ("inputs", "decode", "tile"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cases = []
    for name, inp, what in make_decode_inputs(out / "inputs"):
        rgb = pillow_rgb(out / inp)
        save_png(rgb, out / "decode" / (name + ".png"))
        cases.append({"name": name, "kind": "decode", "input": inp, "what": what,
                      "expected": "decode/%s.png" % name})
    for name, inp, mode, what in make_tile_inputs(out / "inputs"):
        rgb = pillow_rgb(out / inp)
        grid, glob, tiles = tile_image(rgb, mode)
        d = out / "tile" / name
        d.mkdir(parents=True)
        write_json(grid, d / "grid.json")
        save_png(glob, d / "global.png")
        for i, t in enumerate(tiles):
            save_png(t, d / ("tile-%d.png" % i))
        cases.append({"name": name, "kind": "tile", "input": inp, "mode": mode, "what": what,
                      "expected": "tile/%s/" % name})
    manifest = {"generator": GENERATOR, "pillow": PIL.__version__, "tileSize": TILE,
                "grids": ["%dx%d" % g for g in GRIDS], "cases": cases}
    write_json(manifest, out / "manifest.json")
    return manifest


# --------------------------------------------------------------------------------------------
# --check
# --------------------------------------------------------------------------------------------

def _files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def _decoded(path):
    """Comparable content of an image file: per frame (mode, size, pixels) + EXIF orientation."""
    with Image.open(path) as im:
        frames = []
        n = getattr(im, "n_frames", 1)
        for i in range(n):
            im.seek(i)
            im.load()
            frames.append((im.mode, im.size, im.tobytes(),
                           im.getpalette() if im.mode == "P" else None))
        orientation = im.getexif().get(0x0112)
    return frames, orientation


def _same(a, b):
    if a.read_bytes() == b.read_bytes():
        return True
    ext = a.suffix.lower()
    if ext == ".json":
        return json.loads(a.read_text()) == json.loads(b.read_text())
    if ext in IMAGE_EXTS:
        return _decoded(a) == _decoded(b)
    return False


def check(corpus):
    corpus = Path(corpus)
    with tempfile.TemporaryDirectory(prefix="parity-check-") as tmp:
        generate(tmp)
        want, got = _files(corpus), _files(tmp)
        problems = []
        for f in sorted(set(want) - set(got)):
            problems.append("only in checked-in corpus: " + f)
        for f in sorted(set(got) - set(want)):
            problems.append("missing from checked-in corpus: " + f)
        for f in sorted(set(want) & set(got)):
            if not _same(corpus / f, Path(tmp) / f):
                problems.append("differs: " + f)
    if problems:
        print("parity corpus check FAILED (%d problems):" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("parity corpus check OK: %d files in %s match a fresh regeneration" % (len(want), corpus))
    return 0


def total_size(root):
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="corpus directory (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and compare with --out; exit 1 on differences")
    args = ap.parse_args()
    if args.check:
        return check(args.out)
    manifest = generate(args.out)
    size = total_size(args.out)
    print("wrote %d cases to %s" % (len(manifest["cases"]), args.out))
    print("total corpus size: %d bytes (%.2f MB)" % (size, size / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())

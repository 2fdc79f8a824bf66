"""The embedded demo dataset: 12 synthetic images written in the real VOC2012 on-disk layout.

Each image has a textured background and 2-4 objects of VOC classes (shapes filled with a per-class
colour and texture). Masks are palette ("P") PNGs with the VOC colour map and a 255 band about
4 pixels wide along every region boundary, like VOC's. The output is byte-identical across runs
and machines with the same Pillow/libjpeg (fixed JPEG quality, no optimisation, no metadata).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from langseg.data.palettes import voc_palette

DEMO_SPLITS: dict[str, tuple[str, ...]] = {
    "train": tuple(f"demo_{i:03d}" for i in range(0, 6)),
    "val": tuple(f"demo_{i:03d}" for i in range(6, 12)),
}
# VOC id -> (RGB base colour, texture); the classes the demo images contain.
_CLASS_STYLES: dict[int, tuple[tuple[int, int, int], str]] = {
    1: ((200, 200, 210), "stripes"),   # aeroplane
    3: ((170, 110, 60), "dots"),       # bird
    4: ((40, 90, 200), "waves"),       # boat
    7: ((210, 30, 30), "checker"),     # car
    8: ((230, 150, 40), "stripes"),    # cat
    12: ((120, 80, 40), "noise"),      # dog
    15: ((240, 190, 160), "rings"),    # person
    16: ((30, 150, 50), "dots"),       # potted plant
    17: ((245, 245, 235), "noise"),    # sheep
    20: ((30, 30, 40), "checker"),     # tv/monitor
}
_SIZES = ((500, 375), (500, 333), (375, 500))  # (width, height), cycled over the images
_BOUNDARY = 255
_BOUNDARY_WINDOW = 5  # pixels within 2 of another region become boundary
_JPEG_QUALITY = 90


def _texture(kind: str, yy: np.ndarray, xx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(H, W) float32`` in [0, 1]: the pattern of a class texture at a random phase/scale."""
    period = rng.uniform(8.0, 16.0)
    phase = rng.uniform(0.0, 2 * np.pi)
    if kind == "stripes":
        return 0.5 + 0.5 * np.sin(2 * np.pi * (xx + 0.5 * yy) / period + phase)
    if kind == "checker":
        return ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.float32)
    if kind == "dots":
        d = np.hypot((xx % period) - period / 2, (yy % period) - period / 2)
        return (d < period / 4).astype(np.float32)
    if kind == "waves":
        return 0.5 + 0.5 * np.sin(2 * np.pi * yy / period + 3 * np.sin(xx / period) + phase)
    if kind == "rings":
        return 0.5 + 0.5 * np.sin(np.hypot(xx - xx.mean(), yy - yy.mean()) / period * 6 + phase)
    return rng.uniform(0.0, 1.0, size=yy.shape)  # "noise"


def _smooth_noise(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """``(H, W) float32`` in [0, 1]: low-frequency noise (a coarse grid upsampled bilinearly)."""
    coarse = (rng.uniform(0, 255, size=(6, 8))).astype(np.uint8)
    img = Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _shape_mask(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """``(H, W) bool``: an ellipse, rectangle or star-ish polygon at a random place."""
    side = min(width, height)
    radius = rng.uniform(0.12, 0.25) * side
    cx = rng.uniform(radius, width - radius)
    cy = rng.uniform(radius, height - radius)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    kind = rng.integers(3)
    if kind == 0:
        ry = radius * rng.uniform(0.6, 1.0)
        draw.ellipse([cx - radius, cy - ry, cx + radius, cy + ry], fill=1)
    elif kind == 1:
        ry = radius * rng.uniform(0.5, 1.0)
        draw.rectangle([cx - radius, cy - ry, cx + radius, cy + ry], fill=1)
    else:
        n = int(rng.integers(5, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, size=n))
        radii = radius * rng.uniform(0.6, 1.0, size=n)
        draw.polygon([(float(cx + r * np.cos(a)), float(cy + r * np.sin(a)))
                      for a, r in zip(angles, radii)], fill=1)
    return np.asarray(canvas, dtype=bool)


def _render(index: int, seed: int) -> tuple[Image.Image, np.ndarray]:
    """RGB image and ``(H, W) uint8`` labels (0..20, 255 boundary) of demo image ``index``."""
    rng = np.random.default_rng([seed, index])
    width, height = _SIZES[index % len(_SIZES)]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 160, size=3)
    shade = 0.6 + 0.4 * _smooth_noise(width, height, rng) + 0.1 * yy / height
    rgb = base * shade[..., None]
    classes = list(_CLASS_STYLES)
    first = classes[index % len(classes)]
    others = [c for c in classes if c != first]
    n_objects = 2 + index % 3
    chosen = [first] + [int(c) for c in rng.choice(others, size=n_objects - 1, replace=False)]
    shapes = sorted((_shape_mask(width, height, rng) for _ in chosen), key=lambda m: -m.sum())
    labels = np.zeros((height, width), dtype=np.uint8)
    for cls, mask in zip(chosen, shapes):
        colour, kind = _CLASS_STYLES[cls]
        pattern = 0.65 + 0.35 * _texture(kind, yy, xx, rng)
        rgb[mask] = (np.asarray(colour, dtype=np.float32) * pattern[..., None])[mask]
        labels[mask] = cls
    rgb += rng.normal(0.0, 6.0, size=rgb.shape)
    image = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), mode="RGB")
    return image, _add_boundaries(labels)


def _add_boundaries(labels: np.ndarray) -> np.ndarray:
    """Set 255 wherever a ``5 x 5`` window holds more than one label (a ~4 px band, as VOC)."""
    img = Image.fromarray(labels)
    high = np.asarray(img.filter(ImageFilter.MaxFilter(_BOUNDARY_WINDOW)))
    low = np.asarray(img.filter(ImageFilter.MinFilter(_BOUNDARY_WINDOW)))
    out = labels.copy()
    out[high != low] = _BOUNDARY
    return out


def _palette_png(labels: np.ndarray) -> Image.Image:
    mask = Image.frombytes("P", (labels.shape[1], labels.shape[0]), labels.tobytes())
    mask.putpalette(voc_palette(256).tobytes())
    return mask


def write_demo_dataset(root: str | os.PathLike, *, seed: int = 0) -> None:
    """Write the demo under ``root/VOC2012`` in the VOC2012 layout (read it with kind voc2012).

    Writes ``JPEGImages/{id}.jpg`` (RGB), ``SegmentationClass/{id}.png`` (mode "P", VOC palette,
    values 0..20 and 255) and ``ImageSets/Segmentation/{train,val}.txt`` for the ids of
    :data:`DEMO_SPLITS`. Existing files of the same names are overwritten. Same ``seed`` -> same
    bytes.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    base = Path(root) / "VOC2012"
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    index = 0
    for split, ids in DEMO_SPLITS.items():
        for image_id in ids:
            image, labels = _render(index, seed)
            image.save(base / "JPEGImages" / f"{image_id}.jpg", format="JPEG",
                       quality=_JPEG_QUALITY, optimize=False, progressive=False)
            _palette_png(labels).save(base / "SegmentationClass" / f"{image_id}.png",
                                      format="PNG", optimize=False)
            index += 1
        (base / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")

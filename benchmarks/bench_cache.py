"""Benchmark of the SA cache codecs at full size (N = 64 * 64 = 4096): size, speed, fidelity.

For a few proxy images (``langseg.synthetic``: peaked rows on known segments, locality, noise)
every codec writes one Zarr store (``langseg.cache``), reads it back, and the decoded SA is fed
to every method that reads the SA: AggGEM, DiffSegClust, SpecClust and GrabCut
(``langseg.methods.segment_image``, VOC settings). The table compares each codec's predictions
with those from the float32 SA, pixel by pixel.

Two image sets: ``proxy`` (the original: 3, 5, 7, ... segments, one peakedness, mild noise) and
``hard`` (``langseg.synthetic.HARD_SCENES``: dense noisy floors, many small segments, both ends
of peakedness, one image per scene); the default codec is chosen on ``hard``.

Usage::

    python benchmarks/bench_cache.py --set hard      # the codec choice (6 scenes, all codecs)
    python benchmarks/bench_cache.py                 # 4 proxy images, all codecs, 2 threads
    python benchmarks/bench_cache.py --no-methods    # sizes and speeds only

Sizes are MiB (2^20 bytes) of the SA arrays on disk per image; "ratio" is raw float16
(N * N * 2 bytes) over that size; read seconds include decoding to row-stochastic float32.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "2")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from langseg.cache import SACodec, open_store, sa_array_spec, write_store  # noqa: E402
from langseg.params import DatasetKind, Method  # noqa: E402
from langseg.synthetic import (HARD_SCENES, hard_scene, proxy_cosines,  # noqa: E402
                               proxy_self_attention, segment_map)

SIDE = 64  # SD 1.5 attention grid at 512 px: N = 4096
N_PROMPT_CLASSES = 20  # VOC prompt classes (background is added by the method)
METHODS = (Method.AGGGEM, Method.DIFFSEGCLUST, Method.SPECCLUST, Method.GRABCUT)


@dataclass(frozen=True)
class ProxyImage:
    """One synthetic image: ``sa (N, N) float32`` rows sum to 1, ``cosines (20, 28, 28)``."""

    sa: np.ndarray
    cosines: np.ndarray
    name: str = ""


def proxy_images(n_images: int, *, peak: float = 6.0, noise: float = 0.5) -> list[ProxyImage]:
    """Proxy images with 3, 5, 7, ... segments, each segment showing a random VOC class.

    ``peak`` and ``noise`` go to ``proxy_self_attention`` (a lower peak and more noise give
    less distinct segments: harder for the codecs' effect on the methods).
    """
    images = []
    for k in range(n_images):
        n_segments = 3 + 2 * k
        seg = segment_map(SIDE, n_segments, seed=k)
        rng = np.random.default_rng(100 + k)
        classes = rng.choice(N_PROMPT_CLASSES, size=n_segments, replace=False)
        images.append(ProxyImage(sa=proxy_self_attention(seg, peak=peak, noise=noise, seed=k),
                                 cosines=proxy_cosines(seg, classes, N_PROMPT_CLASSES, seed=k)))
    return images


def hard_images() -> list[ProxyImage]:
    """One image per :data:`~langseg.synthetic.HARD_SCENES` scene, each segment a VOC class."""
    images = []
    for k, name in enumerate(HARD_SCENES):
        seg, sa = hard_scene(name, SIDE, seed=k)
        n_segments = int(seg.max()) + 1
        classes = np.random.default_rng(100 + k).choice(N_PROMPT_CLASSES, size=n_segments)
        images.append(ProxyImage(sa=sa, cosines=proxy_cosines(seg, classes, N_PROMPT_CLASSES,
                                                              seed=k), name=name))
    return images


def run_method(method: Method, image: ProxyImage, sa: np.ndarray) -> np.ndarray:
    """``(320, 320) int16`` prediction of ``method`` from the image's cosines and ``sa``."""
    from langseg.methods import ImageInputs, MethodSettings, segment_image

    settings = MethodSettings.for_dataset(DatasetKind.VOC2012)
    return segment_image(method, ImageInputs(cosines=image.cosines, self_attention=sa), settings)


def predict(image: ProxyImage, sa: np.ndarray) -> tuple[dict, dict]:
    """Label maps ``{method: (320, 320) int16}`` and seconds per method, from ``sa``."""
    preds, seconds = {}, {}
    for method in METHODS:
        start = time.perf_counter()
        preds[method] = run_method(method, image, sa)
        seconds[method] = time.perf_counter() - start
    return preds, seconds


def store_bytes(path: Path) -> int:
    """Bytes of every file under ``path`` (the SA arrays of a store)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def image_bytes(path: Path, n_images: int) -> list[int]:
    """Bytes of the chunk files of each image (zarr v3 keys ``.../c/{image}/...``)."""
    sizes = [0] * n_images
    for f in path.rglob("*"):
        parts = f.relative_to(path).parts
        if f.is_file() and "c" in parts:
            sizes[int(parts[parts.index("c") + 1])] += f.stat().st_size
    return sizes


def bench_codec(codec: SACodec, images: list[ProxyImage], refs: list[dict] | None,
                root: Path) -> dict:
    """Write, read and (when ``refs``) segment with one codec; returns one table row."""
    path = root / f"{codec.value}.zarr"
    ids = [f"proxy{k}" for k in range(len(images))]
    start = time.perf_counter()
    with write_store(path, manifest={"bench": codec.value}, image_ids=ids,
                     arrays={"sa": sa_array_spec(SIDE * SIDE, codec)}) as writer:
        for k, image in enumerate(images):
            writer.write_sa(k, image.sa)
    write_s = (time.perf_counter() - start) / len(images)
    reader = open_store(path, expected={"bench": codec.value})
    decoded, start = [], time.perf_counter()
    for k in range(len(images)):
        decoded.append(reader.read_sa(k))
    read_s = (time.perf_counter() - start) / len(images)
    per_image = image_bytes(path / "sa", len(images))
    row = {"codec": codec.value, "mib": store_bytes(path / "sa") / len(images) / 2**20,
           "max_mib": max(per_image) / 2**20,
           "write_s": write_s, "read_s": read_s,
           "max_err": max(float(np.abs(d - im.sa).max()) for d, im in zip(decoded, images))}
    if refs is not None:
        row.update(agreement(images, decoded, refs))
    return row


def agreement(images: list[ProxyImage], decoded: list[np.ndarray], refs: list[dict]) -> dict:
    """``{method: worst-image fraction of pixels equal to the reference, or an error}``."""
    out: dict = {}
    for method in METHODS:
        try:
            out[method] = min(float(np.mean(run_method(method, image, sa) == ref[method]))
                              for image, sa, ref in zip(images, decoded, refs))
        except ValueError as err:  # e.g. DiffSeg refuses maps with zero entries
            out[method] = f"fails ({str(err).split(':')[0]})"
    return out


def print_table(rows: list[dict], with_methods: bool) -> None:
    raw_mib = SIDE**4 * 2 / 2**20
    head = ("| codec | MiB/image (mean) | largest image MiB | ratio vs raw fp16 | write s/image "
            "| read s/image | max abs err |")
    head += " AggGEM | DiffSegClust | SpecClust | GrabCut |" if with_methods else " agreement |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = (f"| {r['codec']} | {r['mib']:.2f} | {r['max_mib']:.2f} | {raw_mib / r['mib']:.1f} | "
                f"{r['write_s']:.3f} | {r['read_s']:.3f} | {r['max_err']:.1e} |")
        if with_methods:
            line += "".join(f" {100 * r[m]:.3f} % |" if isinstance(r[m], float) else f" {r[m]} |"
                            for m in METHODS)
        else:
            line += " pending |"
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["proxy", "hard"], default="proxy",
                        help="image set: proxy (default) or hard (one image per hard scene)")
    parser.add_argument("--images", type=int, default=4, help="proxy images (default 4)")
    parser.add_argument("--codecs", nargs="+", default=[c.value for c in SACodec],
                        choices=[c.value for c in SACodec])
    parser.add_argument("--peak", type=float, default=6.0, help="proxy segment logit bonus")
    parser.add_argument("--noise", type=float, default=0.5, help="proxy logit noise std")
    parser.add_argument("--no-methods", action="store_true",
                        help="skip the method agreement columns (sizes and speeds only)")
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error("--images must be >= 1")
    images = (hard_images() if args.set == "hard"
              else proxy_images(args.images, peak=args.peak, noise=args.noise))
    refs = None
    if not args.no_methods:
        refs, times = zip(*(predict(image, image.sa) for image in images))
        for method in METHODS:
            mean = np.mean([t[method] for t in times])
            print(f"{method.value}: {mean:.2f} s/image on float32 SA")
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as tmp:
        rows = [bench_codec(SACodec(c), images, refs, Path(tmp)) for c in args.codecs]
    described = (f"{len(images)} hard scenes ({', '.join(HARD_SCENES)})" if args.set == "hard"
                 else f"{args.images} proxy images (peak {args.peak}, noise {args.noise})")
    print(f"{described}, N = {SIDE * SIDE}, threads = "
          f"{os.environ['OMP_NUM_THREADS']}; agreement = worst image, % of 320x320 pixels "
          "equal to the float32-SA prediction")
    print_table(rows, with_methods=refs is not None)


if __name__ == "__main__":
    main()

"""Extraction cost of every dense CLIP backend relative to GEM's, on the same images.

Run: ``python benchmarks/bench_backends.py [--preset sd15-random] [--images 4] [--repeats 3]
[--device cuda --batch-size 16]``.
Each backend extracts the patch-text cosines of the same images (448 x 448, 21 VOC prompt
classes; the text is embedded once beforehand, as in a job). Backends are timed interleaved,
``--repeats`` rounds, and the best round counts, so a loaded machine affects them alike.
Prints seconds per image and the ratio to GEM (the target is at most 1.2).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

TARGET_RATIO = 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="sd15-random", choices=["tiny", "sd15-random"],
                        help="CLIP weights (sd15-random: the ViT-B/16 architecture)")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()

    import torch
    from PIL import Image

    from langseg.data import get_dataset_info
    from langseg.models import backend_cosines, load_clip, make_backend
    from langseg.models.backends import backend_names, text_embeddings
    from langseg.params import DatasetKind

    torch.set_num_threads(args.threads)
    clip = load_clip(args.preset, device=args.device)

    def sync() -> None:
        if args.device == "cuda":
            torch.cuda.synchronize()

    names = list(get_dataset_info(DatasetKind.VOC2012).prompt_class_names)
    text_embeddings(clip, names)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8))
              for _ in range(args.images)]
    backends = {name: make_backend(name) for name in backend_names()}
    best = dict.fromkeys(backends, float("inf"))
    for _ in range(args.repeats):
        for name, backend in backends.items():
            sync()
            start = time.perf_counter()
            backend_cosines(clip, backend, images, names, batch_size=args.batch_size)
            sync()
            best[name] = min(best[name], (time.perf_counter() - start) / len(images))
    print(f"preset {args.preset}, device {args.device}, batch {args.batch_size}, "
          f"{args.images} images 448x448, {len(names)} classes, {args.threads} thread(s), "
          f"best of {args.repeats}")
    print(f"{'backend':<10} {'s/image':>8} {'x GEM':>6}  target <= {TARGET_RATIO}")
    for name, seconds in best.items():
        ratio = seconds / best["gem"]
        print(f"{name:<10} {seconds:8.3f} {ratio:6.2f}  {'ok' if ratio <= TARGET_RATIO else 'SLOW'}")


if __name__ == "__main__":
    main()

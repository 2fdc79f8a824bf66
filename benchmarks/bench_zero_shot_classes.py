"""How well each backend's predicted class sets (the AggSD-ZS prompt) match the GT classes.

Run after the workflow, in its directory: ``python benchmarks/bench_zero_shot_classes.py
[--workdir .] [--dataset demo] [--split val]``. For every backend cache of the split and every
``min_area`` in ``--min-areas``, prints the micro precision / recall of the predicted class sets
(Method 1 classes covering at least ``min_area`` of the image, at most ``--max-classes``)
against the ground-truth classes of each image (background excluded), and the mean set size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("."))
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--split", default="val")
    parser.add_argument("--kind", default="voc2012")
    parser.add_argument("--min-areas", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1])
    parser.add_argument("--max-classes", type=int, default=8)
    args = parser.parse_args()

    from langseg.cache import open_store
    from langseg.methods import MethodSettings
    from langseg.methods.zero_shot import ZeroShotClasses, predicted_classes
    from langseg.models.backends import backend_names
    from langseg.params import DatasetKind
    from langseg.pipeline.extract import gt_class_ids
    from langseg.pipeline.stages import load_gt

    kind = DatasetKind(args.kind)
    base = args.workdir / "results"
    gt_files = sorted((base / args.dataset / args.split / "gt").glob("*.npz"))
    truth = []
    for path in gt_files:
        _, labels, _ = load_gt(path)
        truth += [set(gt_class_ids(label, background=kind is DatasetKind.VOC2012))
                  for label in labels]
    size = load_gt(gt_files[0])[1].shape[-1]
    settings = MethodSettings.for_dataset(kind, {"output_size": size})
    print(f"{args.dataset} {args.split}: {len(truth)} images, max_classes {args.max_classes}")
    print(f"{'backend':<10} {'min_area':>8} {'precision':>9} {'recall':>7} {'classes':>7}")
    for backend in backend_names():
        stores = sorted((base / "cache" / args.dataset / args.split / backend).glob("*.zarr"))
        if not stores:
            continue
        cosines = []
        for store in stores:
            reader = open_store(store, expected={})
            cosines += [reader.read("cosines", i) for i in range(len(reader.image_ids))]
        for min_area in args.min_areas:
            rule = ZeroShotClasses(min_area=min_area, max_classes=args.max_classes)
            sets = [set(predicted_classes(c, settings, rule)) for c in cosines]
            hits = sum(len(p & t) for p, t in zip(sets, truth, strict=True))
            n_pred, n_true = sum(map(len, sets)), sum(map(len, truth))
            print(f"{backend:<10} {min_area:8.2f} {hits / max(n_pred, 1):9.2f} "
                  f"{hits / max(n_true, 1):7.2f} {np.mean([len(s) for s in sets]):7.1f}")


if __name__ == "__main__":
    main()

"""Seconds per image of every method on ONE CPU core at full size (N = 64*64, S = 320).

Run: ``python benchmarks/bench_methods.py`` (add ``--skip-full-svd`` to skip the ~1 min
full-SVD agreement check). ``--threads 2`` times every method in two child processes, with 1
and with 2 threads (``langseg.threads.pinned_threads``, as segment jobs run), and prints the
two side by side. Inputs are proxies with known segments (``langseg.synthetic``):
C = 21 (VOC settings: 20 prompt classes + background) and C = 171 (COCO-Stuff settings).
Prints a table with ratios against the targets and the adjusted Rand index (ARI) of the
truncated vs the full SVD solver and of the clusters vs the known segments.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / torch are imported

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

TARGETS = {"gem_based_total": 3.0, "specclust": 0.5, "diffsegclust": 2.0}
SIDE, SIZE, N_SEGMENTS = 64, 320, 20


def _inputs(n_prompt: int, segments: np.ndarray, sa: np.ndarray, voc: bool):
    from langseg import synthetic
    from langseg.methods import ImageInputs, SDGroundTruthAttention
    from langseg.methods.resize import resize_labels_nearest

    rng = np.random.default_rng(0)
    seg_classes = rng.choice(n_prompt, size=N_SEGMENTS, replace=False)
    # VOC's s = 0.1 needs a larger margin than s = 0.01 for a class to beat the background
    margin = 0.3 if voc else 0.05
    cosines = synthetic.proxy_cosines(segments, seg_classes, n_prompt, margin=margin, seed=1)
    gt = resize_labels_nearest(seg_classes[segments] + int(voc), SIZE).astype(np.int16)
    ids = np.unique(seg_classes)[:4] + int(voc)
    agg = rng.random((SIDE * SIDE, 1 + len(ids)), dtype=np.float32)
    sd_gt = SDGroundTruthAttention(agg=agg, ca_colsum=agg.sum(0), class_ids=ids)
    return ImageInputs(cosines=cosines, self_attention=sa, gt=gt, sd_gt=sd_gt)


def _time(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.ravel(a), np.ravel(b)))


def _bench_dataset(kind: str, n_prompt: int, segments, sa, repeats: int) -> dict:
    from langseg.methods import MethodSettings, segment_image, segment_image_methods
    from langseg.methods.resize import resize_labels_nearest
    from langseg.params import Method

    voc = kind == "voc2012"
    inputs = _inputs(n_prompt, segments, sa, voc)
    settings = MethodSettings.for_dataset(kind)
    rows, outputs = {}, {}
    for method in Method:
        rows[method.value], outputs[method] = _time(
            lambda m=method: segment_image(m, inputs, settings), repeats)
    gem_based = [m for m in Method if m not in (Method.AGGSD, Method.GRABCUT)]
    rows["gem_based_total"] = sum(rows[m.value] for m in gem_based)
    rows["gem_based_shared"], _ = _time(
        lambda: segment_image_methods(gem_based, inputs, settings), repeats)
    truth = resize_labels_nearest(segments, SIZE)
    rows["ari_diffseg_vs_segments"] = _ari(outputs[Method.DIFFSEGCLUST], truth)
    rows["ari_specclust_vs_segments"] = _ari(outputs[Method.SPECCLUST], truth)
    return rows


def _clusters_only(segments: np.ndarray, sa: np.ndarray, repeats: int) -> dict:
    """Seconds of the clustering alone (no labelling) and ARI vs the known segments."""
    from langseg.methods.diffseg import diffseg_clusters
    from langseg.methods.resize import resize_labels_nearest
    from langseg.methods.settings import DiffSegSettings, SpecClustSettings
    from langseg.methods.spectral import spectral_clusters

    truth = resize_labels_nearest(segments, SIZE)
    t_diff, diff = _time(lambda: diffseg_clusters(sa, DiffSegSettings(), SIZE), repeats)
    t_spec, spec = _time(lambda: spectral_clusters(sa, SpecClustSettings(), SIZE), repeats)
    return {"diffseg clusters only": (t_diff, _ari(diff, truth)),
            "specclust clusters only": (t_spec, _ari(spec, truth))}


def _svd_agreement(sa: np.ndarray) -> tuple[float, float, float]:
    """ARI of truncated- vs full-SVD SpecClust clusters, and both solvers' seconds."""
    from langseg.methods.settings import SpecClustSettings, SVDSolver
    from langseg.methods.spectral import spectral_clusters

    settings = SpecClustSettings()
    t_trunc, trunc = _time(lambda: spectral_clusters(sa, settings, SIZE), 1)
    full_settings = dataclasses.replace(settings, solver=SVDSolver.FULL)
    t_full, full = _time(lambda: spectral_clusters(sa, full_settings, SIZE), 1)
    return _ari(trunc, full), t_trunc, t_full


DATASETS = {"voc2012": ("C=21 (voc2012)", 20), "cocostuff": ("C=171 (cocostuff)", 171)}


def _measure(args, threads: int) -> tuple[dict, dict, object]:
    from langseg import synthetic
    from langseg.threads import pinned_threads

    with pinned_threads(threads):
        segments = synthetic.segment_map(SIDE, N_SEGMENTS, seed=0)
        sa = synthetic.proxy_self_attention(segments, seed=0)
        results = {DATASETS[d][0]: _bench_dataset(d, DATASETS[d][1], segments, sa, args.repeats)
                   for d in args.datasets}
        clusters = _clusters_only(segments, sa, args.repeats)
        svd = None if args.skip_full_svd else _svd_agreement(sa)
    return results, clusters, svd


def _side_by_side(args) -> None:
    """Run the timings with 1 and ``args.threads`` threads in child processes, one at a time."""
    runs = {}
    for threads in (1, args.threads):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            cmd = [sys.executable, __file__, "--worker-threads", str(threads), "--json", str(out),
                   "--repeats", str(args.repeats), "--skip-full-svd", "--datasets",
                   *args.datasets]
            subprocess.run(cmd, check=True)
            runs[threads] = json.loads(out.read_text())
    print(f"\nseconds per image, 1 vs {args.threads} threads (torch gets the threads; BLAS and "
          "scikit-learn run serially), best of", args.repeats)
    one, many = runs[1], runs[args.threads]
    for dataset in one["results"]:
        print(f"{dataset:32s}{'1 thread':>12s}{f'{args.threads} threads':>12s}{'ratio':>8s}")
        for name, value in one["results"][dataset].items():
            if name.startswith("ari"):
                continue
            other = many["results"][dataset][name]
            print(f"  {name:30s}{value:12.3f}{other:12.3f}{other / value:8.2f}")
    for name, (seconds, _) in one["clusters"].items():
        other = many["clusters"][name][0]
        print(f"  {name:30s}{seconds:12.3f}{other:12.3f}{other / seconds:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    parser.add_argument("--skip-full-svd", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="> 1: time with 1 and with this many threads, side by side")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads > 1 and args.worker_threads is None:
        _side_by_side(args)
        return
    threads = args.worker_threads or 1
    results, clusters, svd = _measure(args, threads)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "clusters": clusters}))
    print(f"threads: {threads}")
    _print(results, svd)
    for name, (seconds, ari) in clusters.items():
        print(f"{name}: {seconds:.3f} s, ARI vs known segments {ari:.4f}")


def _print(results: dict, svd) -> None:
    names = list(next(iter(results.values())))
    print(f"{'method (s per image, 1 core)':32s}" + "".join(f"{k:>20s}" for k in results)
          + f"{'target':>9s}")
    for name in names:
        target = TARGETS.get(name)
        cells = []
        for rows in results.values():
            value = rows[name]
            ratio = f" ({value / target:.2f}x)" if target else ""
            cells.append(f"{value:.3f}{ratio}")
        print(f"{name:32s}" + "".join(f"{c:>20s}" for c in cells)
              + (f"{target:>9.1f}" if target else ""))
    if svd is not None:
        ari, t_trunc, t_full = svd
        print(f"SpecClust truncated vs full SVD: ARI {ari:.4f} "
              f"(truncated {t_trunc:.2f} s, full {t_full:.1f} s)")


if __name__ == "__main__":
    main()

"""Benchmark: building the DAG of ``config/paper.yaml`` on a generated dataset layout.

Every dataset file of a shard is an input of the rules that read it, and the weights identity
(``langseg.models.loading.file_identity``) and code digests are computed at parse time, so the
DAG build must stay fast on large datasets. This script writes, in a temporary folder, the four
dataset layouts of ``config/paper.yaml`` with empty image and mask files (the parse only lists
and stats them) and placeholder weight files, then times ``snakemake -n`` (parse, listing,
params and DAG) on the fresh folder, and with ``--done`` also after ``snakemake --touch`` marked
every output as done (then Snakemake also compares every input's mtime with its outputs').

Usage::

    python benchmarks/bench_dag.py                  # 10,000 images over the 7 splits
    python benchmarks/bench_dag.py --images 20000 --done

The images are split over the splits in proportion to the real datasets' sizes (VOC train
1464 / val 1449, Context train 4998 / val 5105, COCO-Stuff val2017 4172, Cityscapes val 500).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
REAL_SIZES = {("voc", "train"): 1464, ("voc", "val"): 1449, ("context", "train"): 4998,
              ("context", "val"): 5105, ("cocostuff", "val2017"): 4172,
              ("cityscapes", "val"): 500}


def split_sizes(total: int) -> dict[tuple[str, str], int]:
    """``total`` images spread over the splits in proportion to :data:`REAL_SIZES`."""
    real = sum(REAL_SIZES.values())
    sizes = {key: max(1, total * n // real) for key, n in REAL_SIZES.items()}
    sizes[("context", "val")] += total - sum(sizes.values())
    return sizes


def _touch(paths) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def make_layout(root: Path, sizes: dict[tuple[str, str], int]) -> dict[str, str]:
    """Write the dataset layouts under ``root``; returns dataset name -> root path."""
    voc, context = root / "VOC2012", root / "VOC2010"
    coco, city = root / "cocostuff", root / "cityscapes"
    for base, sets, masks, name in ((voc, "Segmentation", "SegmentationClass", "voc"),
                                    (context, "SegmentationContext", "SegmentationClassContext",
                                     "context")):
        for split in ("train", "val"):
            ids = [f"{name}_{split}_{i:06d}" for i in range(sizes[(name, split)])]
            _touch(base / "JPEGImages" / f"{i}.jpg" for i in ids)
            _touch(base / masks / f"{i}.png" for i in ids)
            (base / "ImageSets" / sets).mkdir(parents=True, exist_ok=True)
            (base / "ImageSets" / sets / f"{split}.txt").write_text("\n".join(ids) + "\n")
    ids = [f"{i:012d}" for i in range(sizes[("cocostuff", "val2017")])]
    _touch(coco / "images" / "val2017" / f"{i}.jpg" for i in ids)
    _touch(coco / "annotations" / "val2017" / f"{i}.png" for i in ids)
    (coco / "curated" / "val2017").mkdir(parents=True)
    (coco / "curated" / "val2017" / "Coco164kFull_Stuff_Coarse.txt").write_text("\n".join(ids))
    for i in range(sizes[("cityscapes", "val")]):
        stem = f"city{i % 3}_{i:06d}_000019"
        _touch([city / "leftImg8bit" / "val" / f"city{i % 3}" / f"{stem}_leftImg8bit.png",
                city / "gtFine" / "val" / f"city{i % 3}" / f"{stem}_gtFine_labelIds.png"])
    return {"voc": str(voc), "context": str(context), "cocostuff": str(coco),
            "cityscapes": str(city)}


def make_weights(root: Path) -> tuple[str, str]:
    """Placeholder SD folder and MetaCLIP file (1 MiB each weight file; never loaded)."""
    from langseg.models.loading import SD_COMPONENTS

    sd = root / "sd15"
    for sub, names in SD_COMPONENTS.items():
        (sd / sub).mkdir(parents=True)
        (sd / sub / names[0]).write_bytes(b"\0" * (1 << 20))
    (sd / "model_index.json").write_text("{}")
    clip = root / "b16_400m.pt"
    clip.write_bytes(b"\0" * (1 << 20))
    return str(sd), str(clip)


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(cwd))  # that checkout's langseg
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="images in all splits")
    parser.add_argument("--done", action="store_true", help="also time a dry run after "
                        "`snakemake --touch` marked every output done (the touch takes minutes)")
    parser.add_argument("--compare", nargs="*", type=Path, default=[],
                        help="other checkouts (e.g. main) to time first on the same layout")
    args = parser.parse_args(argv)
    sizes = split_sizes(args.images)
    with tempfile.TemporaryDirectory(prefix="bench_dag_") as tmp:
        work = Path(tmp)
        roots = make_layout(work / "data", sizes)
        sd_path, clip_path = make_weights(work / "weights")
        config = yaml.safe_load((REPO / "config/paper.yaml").read_text())
        for name, root in roots.items():
            config["datasets"][name]["root"] = root
        config["models"].update(sd_path=sd_path, clip_path=clip_path)
        (work / "paper.yaml").write_text(yaml.safe_dump(config))
        n_shards = sum(-(-n // config["shard_size"]) for n in sizes.values())
        print("| checkout | images | shards | `snakemake -n` | seconds |")
        print("|---|---:|---:|---|---:|")
        for repo in args.compare:  # other checkouts, same layout, same machine load
            base = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"),
                    "--configfile", str(work / "paper.yaml"), "--directory", str(work)]
            seconds = timed([*base, "tables", "-n", "--quiet", "all"], repo)
            print(f"| {repo} | {sum(sizes.values())} | {n_shards} | fresh folder | "
                  f"{seconds:.1f} |", flush=True)
        base = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                "--configfile", str(work / "paper.yaml"), "--directory", str(work)]
        fresh = timed([*base, "tables", "-n", "--quiet", "all"], REPO)
        print(f"| {REPO} | {sum(sizes.values())} | {n_shards} | fresh folder | {fresh:.1f} |",
              flush=True)
        if args.done:
            timed([*base, "tables", "--touch", "--cores", "1", "--quiet", "all"], REPO)
            done = timed([*base, "tables", "-n", "--quiet", "all"], REPO)
            print(f"| {REPO} | {sum(sizes.values())} | {n_shards} | every output done | "
                  f"{done:.1f} |")


if __name__ == "__main__":
    main()

"""The workflow's file layout, written once: rules, the plan and the docs use these patterns.

Every pattern holds Snakemake wildcards (``{dataset}``, ``{split}``, ``{shard}``, ``{method}``;
``dataset`` = a key of config ``datasets``, ``shard`` = ``000``, ``001``, ...). Fill one with
``pattern.format(**wildcards)``; :func:`cache` fixes the source of a cache pattern.

    resources/{dataset}/VOC2012/                           generated demo dataset (make_demo)
    results/{dataset}/{split}/index.tsv                    image ids, paths, shard (index_dataset)
    results/{dataset}/{split}/gt/{shard}.npz               GT labels at mask_size (prepare_gt)
    results/cache/{dataset}/{split}/{source}/{shard}.zarr  sd_sa, sd_gt, gem caches (extract_*)
    results/{dataset}/{split}/pred/{method}/{shard}.npz    predicted label maps (segment)
    results/{dataset}/{split}/eval/{method}.json           scores (evaluate)
    results/tables/, results/figures/                      Tables 2-4, Figures 2-3
    results/standard/{dataset}/{split}/...                 standard protocol (langseg.standard_plan)
    logs/{rule}/...                                        one log per job; logs/benchmarks/...
"""

from __future__ import annotations

DEMO_ROOT = "resources/{dataset}/VOC2012"
INDEX = "results/{dataset}/{split}/index.tsv"
GT = "results/{dataset}/{split}/gt/{shard}.npz"
CACHE = "results/cache/{dataset}/{split}/{source}/{shard}.zarr"
PRED = "results/{dataset}/{split}/pred/{method}/{shard}.npz"
EVAL = "results/{dataset}/{split}/eval/{method}.json"
TABLES = "results/tables"
FIGURES = "results/figures"


def cache(source: str) -> str:
    """:data:`CACHE` for one source (``sd_sa``, ``sd_gt``, ``gem``), other wildcards kept."""
    return CACHE.replace("{source}", source)

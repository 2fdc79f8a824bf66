"""The workflow's file layout, written once: the rules, both plans, the config check and the
report's table names take every path from here (docs/architecture.md points here).

Each function returns one artefact's path. Called without arguments it returns the Snakemake
pattern the rule writes, with the wildcards in braces (``index()`` ->
``"results/{dataset}/{split}/index.tsv"``); called with values it returns the file of one job
(``index("demo", "val")`` -> ``"results/demo/val/index.tsv"``). Wildcard values: ``dataset`` a
key of config ``datasets`` (``{std_dataset}`` in the standard protocol's rules), ``split`` a
split of it, ``shard`` ``000``, ``001``, ... (:func:`langseg.data.index.shard_name`),
``method`` a run name (``agggem``, or ``{backend}/{method}``:
:func:`langseg.workflow_plan.run_name`), ``backend`` a CLIP backend (``gem``, ``sclip``, ...).

    resources/{dataset}/VOC2012/                                  generated demo (make_demo)
    results/{dataset}/{split}/index.tsv                           index (index_dataset)
    results/{dataset}/{split}/gt/{shard}.npz                      ground truth (prepare_gt)
    results/cache/{dataset}/{split}/{folder}/{shard}.zarr         caches (extract_*)
    results/{dataset}/{split}/pred/{method}/{shard}.npz           label maps (segment)
    results/{dataset}/{split}/eval/{method}.json                  scores (evaluate)
    results/tables/{stem}.{csv,md,tex}                            tables (write_*tables)
    results/figures/{stem}.{png,pdf}                              figures (plot_figures)
    results/standard/{std_dataset}/{split}/index.tsv              standard protocol: index,
    results/standard/{std_dataset}/{split}/counts/{backend}/{shard}.npz   confusion matrices,
    results/standard/{std_dataset}/{split}/eval/{backend}.json    IoUMetric scores
    logs/{rule}/{wildcards}.log, logs/benchmarks/{rule}/{wildcards}.tsv   one per job
"""

from __future__ import annotations

RESULTS = "results"
LOGS = "logs"  # langseg.pipeline.logs.job_label names a job by its log path below this folder
TABLE_FORMATS = ("csv", "md", "tex")  # every table is written in each (langseg.report.writers)
FIGURE_FORMATS = ("png", "pdf")  # every figure is written in each (langseg.report.figures)

#: Stems of the report protocol's tables (keys of ``langseg.report.tables.all_tables``), beside
#: one class-IoU table per dataset split (:func:`class_iou_stem`).
TABLE2_STEM = "table2_ablation"
TABLE3_STEM = "table3_multilabel"
TABLE4_STEM = "table4_benchmark"
SUMMARY_STEM = "summary"
REPORT_TABLE_STEMS = (TABLE2_STEM, TABLE3_STEM, TABLE4_STEM, SUMMARY_STEM)
#: Stems of the report's figures (Figure 2: class IoU per method; Figure 3: qualitative grid).
FIGURE2_STEM = "figure2_class_iou"
FIGURE3_STEM = "figure3_qualitative"
#: Stems of the backend x method tables, per dataset split (:func:`backend_table_stem`).
BACKEND_TABLES = ("miou", "scores")
#: Stem of the standard protocol's table (one row per backend and method).
STANDARD_TABLE_STEM = "standard_benchmark"


# -------------------------------------------------------------------- report protocol, per split
def demo_root(dataset: str = "{dataset}") -> str:
    """Folder of a generated demo dataset (VOC 2012 layout); its config ``root`` must be this."""
    return f"resources/{dataset}/VOC2012"


def index(dataset: str = "{dataset}", split: str = "{split}") -> str:
    """TSV index of a split: image id, image path, mask path and shard of every image."""
    return f"{RESULTS}/{dataset}/{split}/index.tsv"


def gt(dataset: str = "{dataset}", split: str = "{split}", shard: str = "{shard}") -> str:
    """Ground-truth labels of one shard at ``mask_size`` (npz: labels int16, image_ids)."""
    return f"{RESULTS}/{dataset}/{split}/gt/{shard}.npz"


def cache_folder(source: str, backend: str = "{backend}") -> str:
    """Folder of a cache below ``results/cache/{dataset}/{split}/``.

    ``source``: ``sd_sa`` (empty-prompt SD pass), ``sd_gt`` (GT-class prompt), ``clip`` (the
    backend's CLIP cache, in a folder named after ``backend``: ``gem``, ``sclip``, ...) or
    ``sd_zs`` (SD prompted with ``backend``'s predicted classes: ``sd_zs/{backend}``).
    """
    if source == "clip":
        return backend
    return f"sd_zs/{backend}" if source == "sd_zs" else source


def cache(folder: str = "{source}", dataset: str = "{dataset}", split: str = "{split}",
          shard: str = "{shard}") -> str:
    """Zarr store of one shard's attention cache; ``folder`` from :func:`cache_folder`."""
    return f"{RESULTS}/cache/{dataset}/{split}/{folder}/{shard}.zarr"


def pred(dataset: str = "{dataset}", split: str = "{split}", method: str = "{method}",
         shard: str = "{shard}") -> str:
    """Predicted label maps of one run and shard (npz: labels int16, image_ids)."""
    return f"{RESULTS}/{dataset}/{split}/pred/{method}/{shard}.npz"


def evaluation(dataset: str = "{dataset}", split: str = "{split}",
               method: str = "{method}") -> str:
    """Scores of one run on a split (JSON: confusion-matrix mIoU, multilabel scores, ...)."""
    return f"{RESULTS}/{dataset}/{split}/eval/{method}.json"


# ------------------------------------------------------------------------- tables and figures
def table(stem: str, fmt: str) -> str:
    """One table file; ``fmt`` one of :data:`TABLE_FORMATS`."""
    return f"{RESULTS}/tables/{stem}.{fmt}"


def figure(stem: str, fmt: str) -> str:
    """One figure file; ``fmt`` one of :data:`FIGURE_FORMATS`."""
    return f"{RESULTS}/figures/{stem}.{fmt}"


def class_iou_stem(dataset_split: str) -> str:
    """Stem of the class-IoU table of one ``{dataset}_{split}``."""
    return f"class_iou_{dataset_split}"


def backend_table_stem(table_name: str, dataset_split: str) -> str:
    """Stem of a backend x method table (``table_name`` in :data:`BACKEND_TABLES`) of one
    ``{dataset}_{split}``."""
    return f"backend_{table_name}_{dataset_split}"


def report_table_stems(dataset_splits: list[str]) -> list[str]:
    """Stems of every report table: :data:`REPORT_TABLE_STEMS`, then one class-IoU table per
    ``{dataset}_{split}``."""
    return [*REPORT_TABLE_STEMS, *(class_iou_stem(name) for name in dataset_splits)]


def backend_table_files(fmt: str, dataset_splits: list[str]) -> list[str]:
    """Every backend x method table file of one format, tables outer, dataset splits inner."""
    return [table(backend_table_stem(name, split), fmt)
            for name in BACKEND_TABLES for split in dataset_splits]


def standard_tables() -> list[str]:
    """The standard table in every format (:data:`TABLE_FORMATS` order)."""
    return [table(STANDARD_TABLE_STEM, fmt) for fmt in TABLE_FORMATS]


# ------------------------------------------------------------------------- standard protocol
def standard_index(dataset: str = "{std_dataset}", split: str = "{split}") -> str:
    """TSV index of a standard-protocol split (same columns as :func:`index`)."""
    return f"{RESULTS}/standard/{dataset}/{split}/index.tsv"


def standard_counts(dataset: str = "{std_dataset}", split: str = "{split}",
                    backend: str = "{backend}", shard: str = "{shard}") -> str:
    """Confusion matrices of one shard with one backend, one per method (npz)."""
    return f"{RESULTS}/standard/{dataset}/{split}/counts/{backend}/{shard}.npz"


def standard_evaluation(dataset: str = "{std_dataset}", split: str = "{split}",
                        backend: str = "{backend}") -> str:
    """IoUMetric scores of every method with one backend on a standard split (JSON)."""
    return f"{RESULTS}/standard/{dataset}/{split}/eval/{backend}.json"


# ------------------------------------------------------------------------------------- logs
def log(rule: str, wildcards: str) -> str:
    """Log of one job of ``rule``; ``wildcards`` e.g. ``"{dataset}/{split}/{shard}"``."""
    return f"{LOGS}/{rule}/{wildcards}.log"


def benchmark(rule: str, wildcards: str) -> str:
    """Snakemake benchmark (TSV of time and memory) of one job of ``rule``."""
    return f"{LOGS}/benchmarks/{rule}/{wildcards}.tsv"

"""The file layout has one home, langseg.workflow_paths: its patterns are the documented ones,
every file a dry run plans (both protocols, backends, AggSD-ZS) and every path the plans give
for the shipped configs is one of them, and no rule, plan or script spells a path itself."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from snakemake_runs import snakemake, write_config

from langseg import workflow_paths as paths
from langseg.config import validate_config
from langseg.data.samples import Sample
from langseg.standard_plan import StandardPlan
from langseg.workflow_plan import WorkflowPlan

REPO = Path(__file__).resolve().parent.parent

#: Every kind of file, as the module's pattern. Tables and figures take any stem and format here;
#: the tests check those against the module's stems separately.
LAYOUT = {
    "demo_root": paths.demo_root(),
    "index": paths.index(),
    "gt": paths.gt(),
    "cache": paths.cache(),
    "pred": paths.pred(),
    "evaluation": paths.evaluation(),
    "table": paths.table("{stem}", "{fmt}"),
    "figure": paths.figure("{stem}", "{fmt}"),
    "standard_index": paths.standard_index(),
    "standard_counts": paths.standard_counts(),
    "standard_evaluation": paths.standard_evaluation(),
    "log": paths.log("{rule}", "{wildcards}"),
    "benchmark": paths.benchmark("{rule}", "{wildcards}"),
}
# A wildcard is one folder name, except a run ({backend}/{method}), a cache folder
# (sd_zs/{backend}) and the wildcards part of a log path.
_WILDCARD = {"method": r"(?:[^/]+/)?[^/]+", "source": r"(?:sd_zs/)?[^/]+", "wildcards": r".+"}


def to_regex(pattern: str) -> re.Pattern:
    parts, pos = [], 0
    for match in re.finditer(r"\{(\w+)\}", pattern):
        name = match.group(1)
        parts += [re.escape(pattern[pos:match.start()]),
                  f"(?P<{name}>{_WILDCARD.get(name, '[^/]+')})"]
        pos = match.end()
    return re.compile("".join(parts) + re.escape(pattern[pos:]))


REGEXES = {kind: to_regex(pattern) for kind, pattern in LAYOUT.items()}


def classify(path: str) -> tuple[str, dict[str, str]]:
    """The one layout kind ``path`` belongs to, with its wildcard values."""
    found = [(kind, m.groupdict()) for kind, regex in REGEXES.items()
             if (m := regex.fullmatch(path))]
    assert len(found) == 1, f"{path}: matches {[kind for kind, _ in found]}, not one pattern"
    kind, values = found[0]
    if "shard" in values:
        assert re.fullmatch(r"\d{3}", values["shard"]), path
    return kind, values


def check_tables(table_paths: list[str], dataset_splits: list[str]) -> None:
    """Every table and figure is one of the module's stems in one of its formats."""
    stems = {*paths.report_table_stems(dataset_splits), paths.STANDARD_TABLE_STEM,
             *(paths.backend_table_stem(t, n) for t in paths.BACKEND_TABLES
               for n in dataset_splits)}
    for path in table_paths:
        kind, values = classify(path)
        if kind == "table":
            assert values["stem"] in stems and values["fmt"] in paths.TABLE_FORMATS, path
        else:
            assert values["stem"] in (paths.FIGURE2_STEM, paths.FIGURE3_STEM), path
            assert values["fmt"] in paths.FIGURE_FORMATS, path


def test_patterns_and_paths_are_the_documented_layout():
    assert paths.demo_root() == "resources/{dataset}/VOC2012"
    assert paths.demo_root("demo") == "resources/demo/VOC2012"
    assert paths.index("voc", "val") == "results/voc/val/index.tsv"
    assert paths.gt() == "results/{dataset}/{split}/gt/{shard}.npz"
    assert paths.cache() == "results/cache/{dataset}/{split}/{source}/{shard}.zarr"
    assert paths.cache(paths.cache_folder("sd_sa", "sclip"), "voc", "val", "001") == \
        "results/cache/voc/val/sd_sa/001.zarr"
    assert paths.cache_folder("clip", "naclip") == "naclip"
    assert paths.cache(paths.cache_folder("sd_zs")) == \
        "results/cache/{dataset}/{split}/sd_zs/{backend}/{shard}.zarr"
    assert paths.pred("voc", "val", "sclip/agggem", "002") == \
        "results/voc/val/pred/sclip/agggem/002.npz"
    assert paths.evaluation() == "results/{dataset}/{split}/eval/{method}.json"
    assert paths.report_table_stems(["voc_val"]) == [
        "table2_ablation", "table3_multilabel", "table4_benchmark", "summary",
        "class_iou_voc_val"]
    assert paths.backend_table_files("md", ["a_val", "b_val"]) == [
        "results/tables/backend_miou_a_val.md", "results/tables/backend_miou_b_val.md",
        "results/tables/backend_scores_a_val.md", "results/tables/backend_scores_b_val.md"]
    assert paths.figure(paths.FIGURE3_STEM, "pdf") == "results/figures/figure3_qualitative.pdf"
    assert paths.standard_tables() == ["results/tables/standard_benchmark.csv",
                                       "results/tables/standard_benchmark.md",
                                       "results/tables/standard_benchmark.tex"]
    assert paths.standard_index() == "results/standard/{std_dataset}/{split}/index.tsv"
    assert paths.standard_counts("voc21", "val", "gem", "000") == \
        "results/standard/voc21/val/counts/gem/000.npz"
    assert paths.standard_evaluation() == \
        "results/standard/{std_dataset}/{split}/eval/{backend}.json"
    assert paths.log("segment", "{dataset}/{shard}") == "logs/segment/{dataset}/{shard}.log"
    assert paths.benchmark("segment", "a/b") == "logs/benchmarks/segment/a/b.tsv"


def test_classify_refuses_a_path_outside_the_layout():
    assert classify("results/voc/val/pred/sclip/agggem/000.npz") == (
        "pred", {"dataset": "voc", "split": "val", "method": "sclip/agggem", "shard": "000"})
    for stray in ("results/voc/val/labels/000.npz", "results/voc/val/index.csv", "out/x.npz"):
        try:
            classify(stray)
        except AssertionError:
            continue
        raise AssertionError(f"{stray} was taken for a layout path")


def _dry_run_jobs(workdir: Path) -> list[dict[str, list[str]]]:
    """Every job of a forced dry run of ``tables``: rule, input, output, log, benchmark."""
    proc = snakemake(workdir, "-n", "--forceall", "--cores", "2", "tables")
    jobs, job = [], None
    for line in (proc.stdout + proc.stderr).splitlines():
        if re.match(r"^(local)?rule \w+:$", line):
            job = {"rule": [line.split()[1].rstrip(":")]}
            jobs.append(job)
        elif job is not None and line.startswith("    ") and ": " in line:
            key, value = line.strip().split(": ", 1)
            if key in ("input", "output", "log", "benchmark"):
                job[key] = value.split(", ")
        elif not line.startswith("    "):
            job = None
    return jobs


def test_every_file_of_a_dry_run_is_a_module_path(tmp_path):
    """Both protocols, two backends and AggSD-ZS: every rule's files come from the module."""
    workdir = tmp_path / "wf"
    workdir.mkdir()
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, workdir / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["datasets"]["demo"].update(splits=["val"], max_images=3)
    config["datasets"]["std"] = {"kind": "voc21", "protocol": "standard", "demo": True,
                                 "root": "resources/std/VOC2012", "splits": ["val"],
                                 "max_images": 3}
    config.update(shard_size=2, backends=["gem", "sclip"], methods=["gem", "agggem", "aggsd",
                                                                    "aggsd-zs"])
    config["report"]["figure3"].update(split="val", images=[0])
    write_config(workdir, config)

    jobs = _dry_run_jobs(workdir)
    rules = {job["rule"][0] for job in jobs}
    assert {"make_demo", "extract_backend", "extract_sd_zs", "write_backend_tables",
            "standard_segment", "standard_table"} <= rules  # every kind of rule was planned
    seen, tables = set(), []
    for job in jobs:
        rule = job["rule"][0]
        for path in job.get("input", []) + job.get("output", []):
            kind, _ = classify(path)
            seen.add(kind)
            if kind in ("table", "figure"):
                tables.append(path)
        for key in ("log", "benchmark"):
            for path in job.get(key, []):
                kind, values = classify(path)
                assert kind == key and values["rule"] == rule, path
                seen.add(kind)
    assert seen == set(LAYOUT)
    check_tables(tables, ["demo_val"])
    caches = {classify(p)[1]["source"] for job in jobs for p in job.get("output", [])
              if classify(p)[0] == "cache"}
    assert caches == {"sd_sa", "sd_gt", "gem", "sclip", "sd_zs/gem", "sd_zs/sclip"}
    assert not (workdir / "results").exists()


def _load(name: str) -> dict:
    with open(REPO / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _fake_listing(monkeypatch, n_images: int) -> None:
    """Real datasets without their files: every split lists ``n_images`` images."""
    def samples(self, plan, split):
        return [Sample(f"{i:04d}", plan.root / f"{i}.jpg", plan.root / f"{i}.png")
                for i in range(n_images)]

    monkeypatch.setattr(WorkflowPlan, "_list_samples", samples)
    monkeypatch.setattr(StandardPlan, "n_images", lambda self, dataset, split: n_images)


def test_paper_plan_paths_are_module_paths(monkeypatch):
    _fake_listing(monkeypatch, 1100)  # shards of 512: 000, 001, 002
    config = _load("config/paper.yaml")
    config.update(backends=["gem", "sclip"], methods=[*config["methods"], "aggsd-zs"])
    plan = WorkflowPlan.from_config(validate_config(config))
    produced = [*plan.all_evaluations(), *plan.backend_evaluations()]
    for name, ds in plan.datasets.items():
        produced += plan.demo_roots(name)
        for split in ds.splits:
            where = {"dataset": name, "split": split}
            produced += plan.shard_files(paths.gt(), where)
            for run in plan.runs():
                produced += plan.shard_files(paths.pred(), {**where, "method": run})
                for shard in plan.shards(name, split):
                    produced += plan.segment_caches(name, split, run, shard).values()
    for value in plan.figure3_inputs().values():
        produced += [value] if isinstance(value, str) else value
    kinds = {classify(path)[0] for path in produced}
    assert kinds == {"gt", "pred", "cache", "evaluation", "index"}
    assert "results/voc/train/eval/agggem.json" in plan.all_evaluations()
    assert "results/cityscapes/val/eval/sclip/aggsd-zs.json" in plan.backend_evaluations()
    assert plan.segment_caches("voc", "val", "sclip/aggsd-zs", "002") == {
        "sd_zs": "results/cache/voc/val/sd_zs/sclip/002.zarr"}
    assert plan.shard_files(paths.gt(), {"dataset": "context", "split": "val"}) == [
        f"results/context/val/gt/{s}.npz" for s in ("000", "001", "002")]


def test_standard_plan_paths_are_module_paths(monkeypatch):
    _fake_listing(monkeypatch, 100)  # shards of 64: 000, 001
    config = _load("config/standard.yaml")
    config["backends"] = ["gem", "naclip"]
    plan = StandardPlan.from_config(validate_config(config))
    produced = [*plan.all_evaluations(), *plan.table_targets()]
    for name, ds in plan.datasets.items():
        for split in ds.splits:
            for backend in plan.backends:
                produced += plan.count_files(name, split, backend)
    assert {classify(path)[0] for path in produced} == {
        "standard_counts", "standard_evaluation", "table"}
    check_tables(plan.table_targets(), [])
    assert plan.count_files("voc21", "val", "naclip") == [
        "results/standard/voc21/val/counts/naclip/000.npz",
        "results/standard/voc21/val/counts/naclip/001.npz"]
    assert "results/standard/ade20k/validation/eval/gem.json" in plan.all_evaluations()


def test_no_rule_plan_or_script_spells_a_path():
    """Path literals ("results/...", "logs/...", "resources/...") live in workflow_paths only."""
    literal = re.compile(r"""["'](?:results|resources|logs)["'/]""")
    sources = [REPO / "Snakefile", *sorted((REPO / "workflow").rglob("*.smk")),
               *sorted((REPO / "workflow" / "scripts").glob("*.py")),
               *sorted((REPO / "langseg").rglob("*.py"))]
    offending = [f"{source.relative_to(REPO)}:{number}: {line.strip()}"
                 for source in sources if source.name != "workflow_paths.py"
                 for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
                 if literal.search(line)]
    assert len(sources) > 20 and not offending, "\n".join(offending)

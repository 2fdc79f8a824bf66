"""Mutation testing of the numeric core with mutmut 3 (not part of .ci/run; see docs/testing.md).

Each target module is mutated in its own throw-away copy of the repository, and only that
module's own test files run against its mutants (the whole suite per mutant would take days on
two cores). Prints one table row per module: killed, survived, timeouts, other, score.

    python scripts/mutation.py                      # every module, one after the other
    python scripts/mutation.py metrics cache        # only these targets
    python scripts/mutation.py --keep /tmp/mut      # keep the copies to inspect survivors
                                                    # (cd /tmp/mut/<target> && mutmut results)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_METHOD_TESTS = [f"tests/test_methods_{name}.py" for name in (
    "aggregation", "diffseg", "graphcut", "inputs", "labelling", "probabilities", "resize",
    "segment", "settings", "spectral")]

# target -> (files to mutate, test files that judge them); "methods.<module>" mutates one file
# of langseg/methods with its own tests and the golden ones (the whole package takes hours)
TARGETS: dict[str, tuple[list[str], list[str]]] = {
    "metrics": (["langseg/metrics.py"],
                ["tests/test_metrics.py", "tests/test_golden_metrics.py"]),
    "evaluation": (["langseg/evaluation.py"],
                   ["tests/test_evaluation.py", "tests/test_golden_metrics.py"]),
    "attention": (["langseg/attention.py"],
                  ["tests/test_attention.py", "tests/test_golden_attention.py"]),
    "cache": (["langseg/cache/*"],
              ["tests/test_cache_codecs.py", "tests/test_cache_store.py",
               "tests/test_golden_cache.py"]),
    "methods": (["langseg/methods/*"], [*_METHOD_TESTS, "tests/test_golden_methods.py"]),
}


for _module in ("aggregation", "diffseg", "graphcut", "inputs", "labelling", "probabilities",
                "resize", "segment", "settings", "spectral"):
    _own = [t for t in _METHOD_TESTS if t.endswith(f"_{_module}.py")]
    TARGETS[f"methods.{_module}"] = ([f"langseg/methods/{_module}.py"],
                                     [*_own, "tests/test_golden_methods.py"])
# inputs and settings: their own tests pin every refusal (the golden tests only construct them)
TARGETS["methods.inputs"] = (["langseg/methods/inputs.py"],
                             ["tests/test_methods_inputs.py", "tests/test_methods_segment.py"])
TARGETS["methods.settings"] = (["langseg/methods/settings.py"], ["tests/test_methods_settings.py"])
# every golden test resamples: resize is judged by its own file and the golden formula tests
TARGETS["methods.resize"] = (["langseg/methods/resize.py"], ["tests/test_methods_resize.py", *(
    f"tests/test_golden_methods.py::test_{name}" for name in (
        "bicubic_antialias_matches_the_kernel_formula", "bilinear_matches_the_formula",
        "nearest_label_resize_matches_the_formula"))])

# "cache.<module>" mutates one file of langseg/cache with the test files that exercise it
# (the whole package is ~900 mutants; per file the store's slower tests run only where needed)
# (the store tests leave out the one that spawns two writer processes: half their time per
# mutant, and it repeats what the round trips check)
_NO_SPAWN = "--deselect=tests/test_cache_store.py::test_two_processes_write_different_stores_at_once"
_CACHE_TESTS = {
    "codecs": ["tests/test_cache_codecs.py", "tests/test_golden_cache.py",
               "tests/test_codec_mass_floor.py"],
    "manifest": ["tests/test_cache_manifest.py", "tests/test_cache_store.py", _NO_SPAWN],
    "reader": ["tests/test_cache_reader.py", "tests/test_cache_store.py",
               "tests/test_cache_integrity.py", _NO_SPAWN],
    "store": ["tests/test_cache_store.py", "tests/test_cache_integrity.py",
              "tests/test_golden_cache.py", _NO_SPAWN],
    "writer": ["tests/test_cache_writer.py"],
}
for _module, _tests in _CACHE_TESTS.items():
    TARGETS[f"cache.{_module}"] = ([f"langseg/cache/{_module}.py"], _tests)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def prepare(target: str, workdir: Path) -> Path:
    """Copy the tracked (and untracked, not ignored) files and add a [tool.mutmut] section."""
    mutate, tests = TARGETS[target]
    # "-...": pytest options; "file::test": one test of a file
    tests = [t for t in tests if t.startswith("-") or (ROOT / t.split("::")[0]).exists()]
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    copy = workdir / target
    if copy.exists():
        shutil.rmtree(copy)
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    with open(copy / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write(
            "\n[tool.mutmut]\n"
            'source_paths = ["langseg"]\n'
            f"only_mutate = {_toml_list(mutate)}\n"
            f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not slow"]\n'
            'also_copy = ["workflow", "config", "config.yaml", "Snakefile", "profiles"]\n'
            'process_isolation = "forkserver"\n')
    return copy


def run(target: str, workdir: Path, children: int) -> dict:
    copy = prepare(target, workdir)
    # mutants/ must exist before the interpreter starts: a PYTHONPATH entry that does not exist
    # yet is cached as "nothing here" and the tests would import an installed langseg instead.
    (copy / "mutants").mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(copy / "mutants"), OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children)],
                   cwd=copy, env=env, check=False)
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=copy, env=env,
                   check=False)
    stats_file = copy / "mutants" / "mutmut-cicd-stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    survivors = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=copy, env=env,
                               capture_output=True, text=True).stdout
    (workdir / f"{target}.survivors.txt").write_text(survivors)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir)")
    parser.add_argument("--children", type=int, default=1, help="parallel mutant runs")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="langseg-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"work directory: {workdir}")
    rows = []
    for target in args.targets:
        stats = run(target, workdir, args.children)
        killed = stats.get("killed", 0)
        survived = stats.get("survived", 0) + stats.get("no_tests", 0)  # untested: not killed
        timeout = stats.get("timeout", 0)
        judged = killed + survived + timeout
        score = 100.0 * (killed + timeout) / judged if judged else float("nan")
        rows.append((target, killed, survived, timeout, stats.get("total", 0), score))
        print(f"{target}: {stats}", flush=True)
    print("\n| target | killed | survived | timeout | total | score % |")
    print("|---|---:|---:|---:|---:|---:|")
    for target, killed, survived, timeout, total, score in rows:
        print(f"| {target} | {killed} | {survived} | {timeout} | {total} | {score:.1f} |")
    if args.keep is None:
        print(f"(survivor lists in {workdir}/*.survivors.txt)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

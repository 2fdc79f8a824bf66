"""Apply each hand-written mutation of issue #13 (and a few more) to a copy of the repository and
check that the named tests fail. Complements ``scripts/mutation.py`` (mutmut), which cannot
mutate module-level constants or pick these particular mistakes. Not part of ``.ci/run``.

    python scripts/check_known_mutations.py          # prints one line per mutation, exit 1 if any survives
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = "tests/test_golden_methods.py"

# (name, file, original text, mutated text, tests that must fail)
MUTATIONS = [
    ("DiffSeg KL threshold doubled at iteration 0", "langseg/methods/diffseg.py",
     "grid[:, 0] * side + grid[:, 1], settings.kl_threshold)",
     "grid[:, 0] * side + grid[:, 1], 2 * settings.kl_threshold)", [GOLDEN]),
    ("DiffSeg anchor merge < -> <=", "langseg/methods/diffseg.py",
     "(symmetric_kl(anchor_maps, maps) < threshold)",
     "(symmetric_kl(anchor_maps, maps) <= threshold)", [GOLDEN]),
    ("DiffSeg greedy merge < -> <=", "langseg/methods/diffseg.py",
     "close = symmetric_kl(current, current) < threshold",
     "close = symmetric_kl(current, current) <= threshold", [GOLDEN]),
    ("SpecClust drops the trivial singular vector", "langseg/methods/spectral.py",
     "return u[:, :k].numpy()", "return u[:, 1:k + 1].numpy()", [GOLDEN]),
    ("SpecClust uses n_vectors - 1 vectors", "langseg/methods/spectral.py",
     "left_singular_vectors(normalised, settings.n_vectors,",
     "left_singular_vectors(normalised, settings.n_vectors - 1,", [GOLDEN]),
    ("bicubic -> bilinear in resize.py", "langseg/methods/resize.py",
     '_interpolate(maps, size, "bicubic", antialias=True)',
     '_interpolate(maps, size, "bilinear", antialias=True)', [GOLDEN]),
    ("GEM chain skips 28 -> 64", "langseg/methods/segment.py",
     "cos = resize_bilinear(self.inputs.cosines, GEM_MAP_SIZE)",
     "cos = self.inputs.cosines", [GOLDEN]),
    ("pow 0.6 codec exponent -> 0.5", "langseg/cache/codecs.py",
     "SACodec.U8_POW06: 0.6}", "SACodec.U8_POW06: 0.5}", ["tests/test_golden_cache.py"]),
    ("segment stage stops checking the manifest", "langseg/pipeline/segment.py",
     'expected={"extraction": params["expected"][source]}', "expected={}",
     ["tests/test_pipeline_stages.py"]),
    ("VOC temperature 0.1 -> 0.2", "langseg/methods/settings.py",
     "TEMPERATURE_VOC = 0.1", "TEMPERATURE_VOC = 0.2", [GOLDEN]),
    ("background offset ignored", "langseg/methods/probabilities.py",
     "bg = (1 - probs.max(dim=0).values) - background_offset",
     "bg = (1 - probs.max(dim=0).values) - 0.8 * background_offset", [GOLDEN]),
    ("AGG normalised by row sums instead of column sums", "langseg/methods/aggregation.py",
     "column_sums = self_attention.sum(axis=0, dtype=np.float64)",
     "column_sums = self_attention.sum(axis=1, dtype=np.float64)", [GOLDEN]),
    ("min-max quirk uses min instead of |min|", "langseg/methods/aggregation.py",
     "((scores - np.abs(low))", "((scores - low)", [GOLDEN]),
    ("IoU union forgets to subtract the diagonal", "langseg/metrics.py",
     "class_iou = diag / (gt_count + pred_count - diag)",
     "class_iou = diag / (gt_count + pred_count)", ["tests/test_golden_metrics.py"]),
    ("sd_gt read without the padding check", "langseg/pipeline/segment.py",
     "SDGroundTruthAttention.from_padded(", "_unchecked(", ["tests/test_pipeline_stages.py"]),
]
UNCHECKED = '''

def _unchecked(agg, colsum, ids):
    from langseg.methods import SDGroundTruthAttention
    k = int((ids >= 0).sum())
    return SDGroundTruthAttention(agg=agg[:, : k + 1], ca_colsum=colsum[: k + 1],
                                  class_ids=ids[:k].astype(np.int64))
'''


def copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


def main() -> int:
    survivors = 0
    with tempfile.TemporaryDirectory(prefix="langseg-known-mutations-") as tmp:
        copy = Path(tmp)
        copy_repository(copy)
        env = dict(os.environ, PYTHONPATH=str(copy))
        for name, path, old, new, tests in MUTATIONS:
            source = (copy / path).read_text()
            if source.count(old) != 1:
                print(f"STALE    {name}: the original text is not in {path} exactly once")
                survivors += 1
                continue
            mutated = source.replace(old, new)
            if new == "_unchecked(":
                mutated += UNCHECKED
            (copy / path).write_text(mutated)
            try:
                result = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                     *tests], cwd=copy, env=env, capture_output=True, text=True)
            finally:
                (copy / path).write_text(source)
            killed = result.returncode == 1  # tests ran and failed (not a collection error)
            survivors += not killed
            print(f"{'killed' if killed else 'SURVIVED':8} {name} (pytest exit {result.returncode})",
                  flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())

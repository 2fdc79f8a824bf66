"""Code digests: comments and docstrings change nothing, code does, and only where it lives."""

from __future__ import annotations

import shutil
from pathlib import Path

from langseg.provenance import (
    EXTRACTION_CODE,
    PACKAGE_ROOT,
    SEGMENT_CODE,
    code_digest,
    normalised_source,
)


def test_normalised_source_drops_comments_docstrings_and_formatting():
    a = 'def f(x):\n    """Doc."""\n    # comment\n    return x+1\n'
    b = "def f( x ):\n    return (x + 1)  # other comment\n"
    assert normalised_source(a) == normalised_source(b)
    assert normalised_source(a) != normalised_source("def f(x):\n    return x + 2\n")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE_ROOT / "langseg", tmp_path / "langseg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_method_edit_changes_the_segment_digest_only(tmp_path):
    root = _copy(tmp_path)
    before = (code_digest(SEGMENT_CODE, root), code_digest(EXTRACTION_CODE, root))
    assert before == (code_digest(SEGMENT_CODE), code_digest(EXTRACTION_CODE))
    module = root / "langseg/methods/diffseg.py"
    module.write_text(module.read_text() + "\n# a comment\n")
    code_digest.cache_clear()
    assert (code_digest(SEGMENT_CODE, root), code_digest(EXTRACTION_CODE, root)) == before
    module.write_text(module.read_text() + "\nTHRESHOLD_FIX = 1\n")
    code_digest.cache_clear()
    assert code_digest(SEGMENT_CODE, root) != before[0]
    assert code_digest(EXTRACTION_CODE, root) == before[1]


def test_model_edit_changes_the_extraction_digest(tmp_path):
    root = _copy(tmp_path)
    before = code_digest(EXTRACTION_CODE, root)
    module = root / "langseg/models/sd.py"
    module.write_text(module.read_text() + "\nEXTRA = 2\n")
    code_digest.cache_clear()
    assert code_digest(EXTRACTION_CODE, root) != before


def test_every_listed_source_exists_but_the_optional_writer():
    for part in set(EXTRACTION_CODE + SEGMENT_CODE) - {"langseg/cache/writer.py"}:
        assert (PACKAGE_ROOT / part).exists(), part

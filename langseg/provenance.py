"""Code identity for the workflow: which package sources compute a cache, which a prediction.

Rule scripts are thin, so Snakemake's own code tracking never sees ``langseg`` change. The
workflow therefore passes :func:`code_digest` of the relevant source files as a rule param:
an edit of an extraction module reruns the extraction rules (and what depends on them), an edit
of a method module reruns every ``segment`` job but never an extraction.

The digest hashes each module's syntax tree with docstrings removed (``ast.unparse``), so edits
of comments, docstrings and formatting change nothing; any change of code does. A Python upgrade
whose ``ast.unparse`` prints differently changes every digest once (everything reruns).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: Package sources (files or folders, relative to the repository) whose code changes the stored
#: tensors of every extraction source (one digest for all three: an edit reruns all of them).
EXTRACTION_CODE = (
    "langseg/models", "langseg/attention.py", "langseg/params.py", "langseg/pipeline/extract.py",
    "langseg/cache/codecs.py", "langseg/cache/store.py", "langseg/cache/writer.py",
    "langseg/data/images.py", "langseg/data/registry.py", "langseg/data/classes.py",
    "langseg/data/ground_truth.py",
)
#: Package sources whose code changes predictions made from the caches (every ``segment`` job).
SEGMENT_CODE = (
    "langseg/methods", "langseg/params.py", "langseg/pipeline/segment.py",
    "langseg/cache/reader.py", "langseg/cache/codecs.py", "langseg/data/registry.py",
    "langseg/data/classes.py",
)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_source(text: str, filename: str = "<source>") -> str:
    """Python source without comments, docstrings and formatting (``ast.unparse`` of its tree)."""
    return ast.unparse(_without_docstrings(ast.parse(text, filename=filename)))


def _files(parts: tuple[str, ...], root: Path) -> list[Path]:
    files = []
    for part in parts:
        path = root / part
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.is_file():
            files.append(path)
        # a listed file that does not exist (yet) contributes nothing
    return files


@cache
def code_digest(parts: tuple[str, ...], root: Path = PACKAGE_ROOT) -> str:
    """sha256 (first 16 hex digits) over the normalised sources of ``parts`` under ``root``.

    Args:
        parts: files or folders (``*.py`` found recursively), relative to ``root``.

    Returns:
        16 lowercase hex digits; equal for sources that differ only in comments, docstrings or
        formatting.
    """
    digest = hashlib.sha256()
    for path in _files(parts, root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(normalised_source(path.read_text(encoding="utf-8"), str(path)).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]

"""Per-job logging for the workflow's scripts.

Everything goes to the job's log file. Progress lines (:func:`langseg.progress.track`) also go to
the job's stderr, which Snakemake shows on its terminal when it runs the job locally (on SLURM it
lands in the job's SLURM log), each prefixed with the job's log name so parallel jobs can be
told apart::

    [extract_sd_attention/demo/val/000] sd_sa 000: 4/6 images (67%) | 0.21 images/s | ...
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from langseg.progress import PROGRESS_RECORD
from langseg.workflow_paths import LOGS


@contextlib.contextmanager
def job_logging(log_path: str | Path, job: str) -> Iterator[logging.Logger]:
    """Send this job's logging, warnings and errors to ``log_path``; time the job.

    Yields the job's logger. On an exception the traceback is written to the log (where Snakemake
    points the user) and the exception propagates, failing the job.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    terminal = logging.StreamHandler(sys.stderr)
    terminal.addFilter(lambda record: bool(getattr(record, PROGRESS_RECORD, False)))
    terminal.setFormatter(logging.Formatter(f"[{job_label(path, job)}] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler, terminal]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    log = logging.getLogger(f"langseg.{job}")
    start = time.perf_counter()
    try:
        yield log
    except BaseException:
        log.exception("job %s failed", job)
        handler.flush()
        print(f"langseg: job {job} failed; see {path}", file=sys.stderr)
        raise
    log.info("job %s done in %.1f s", job, time.perf_counter() - start)
    handler.flush()


def job_label(log_path: Path, job: str) -> str:
    """``logs/extract_gem/demo/val/000.log`` -> ``"extract_gem/demo/val/000"``: the part of the
    log path below ``logs/`` without the suffix (rule and wildcards); ``job`` if there is none."""
    parts = log_path.with_suffix("").parts
    if LOGS in parts[:-1]:
        below = parts[len(parts) - parts[::-1].index(LOGS):]
        return "/".join(below)
    return job

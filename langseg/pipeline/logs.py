"""Per-job logging for the workflow's scripts."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
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

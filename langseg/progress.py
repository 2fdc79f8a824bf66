"""Progress of long loops over images (extraction, segmentation), drawn by tqdm.

:func:`track` wraps an iterable in a tqdm counter. On an interactive terminal it is tqdm's usual
redrawing bar. Anywhere else (a Snakemake or SLURM job whose stderr is a shared terminal, a pipe
or a log file, where a redrawing bar turns into carriage-return soup and several jobs' bars
overwrite each other) it writes whole lines, formatted by tqdm::

    sd_sa 000: 6/12 images (50%) | 0.52 images/s | elapsed 00:11 | ETA 00:11

one when the loop starts, then at most every ``every_seconds`` while items complete, and, from a
heartbeat thread, also while a single item takes longer than that (the ETA is then recomputed
from the items done so far), and a last one at the end. Lines go to a stream or to a
``logging.Logger``; :mod:`langseg.pipeline.logs` sends them both to the job's log and to the
terminal that runs Snakemake.

:func:`job_summary` formats the one-line summary a job logs when it ends.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: Extra attribute set on progress records, so handlers can pick them out (see pipeline.logs).
PROGRESS_RECORD = "langseg_progress"

_LINE = ("{desc}: {n_fmt}/{total_fmt}{unit} ({percentage:.0f}%) | {rate_noinv_fmt} | "
         "elapsed {elapsed} | ETA {remaining}")
_LINE_NO_TOTAL = "{desc}: {n_fmt}{unit} | {rate_noinv_fmt} | elapsed {elapsed}"


def track(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    unit: str = "images",
    count: Callable[[T], int] | None = None,
    every_seconds: float = 30.0,
) -> Iterator[T]:
    """Yield the items of ``iterable`` while tqdm reports the progress.

    Args:
        iterable: the items; an item counts as done when the loop body asks for the next one.
        total: number of units expected (images, not batches, when ``count`` is given);
            ``None`` takes ``len(iterable)`` when it has one and no ``count`` is given (else no
            percentage and no ETA are shown).
        desc: what the loop does, e.g. ``"sd_sa 000"``; starts every line.
        stream: where to write; default ``sys.stderr``. A TTY gets a redrawing tqdm bar, anything
            else (a log file, a pipe, ``io.StringIO``) gets whole lines.
        logger: if given, lines go to ``logger.info`` (flagged with the record attribute
            :data:`PROGRESS_RECORD`) instead of a stream, and there is never a bar; ``stream``
            must then be ``None``.
        unit: plural noun of the units, used in ``"<n>/<total> <unit>"`` and ``"<unit>/s"``.
        count: units in one item (e.g. ``len`` for batches of images); default 1 per item.
        every_seconds: line mode: the longest silence between two lines while the loop runs
            (> 0); the bar mode redraws at least this often too.

    Returns:
        An iterator over the same items, in order (lazy: nothing is drawn before the first
        ``next``). The final state is written when it is exhausted or closed.
    """
    if total is None and count is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if total is not None and total < 0:
        raise ValueError(f"track: total must be >= 0 or None, got {total}")
    if not every_seconds > 0:
        raise ValueError(f"track: every_seconds must be > 0, got {every_seconds}")
    if logger is not None and stream is not None:
        raise ValueError("track: give a stream or a logger, not both")
    return _tracked(iterable, total, desc, stream, logger, unit, count, every_seconds)


def _tracked(iterable, total, desc, stream, logger, unit, count, every_seconds) -> Iterator:
    """Generator behind :func:`track` (so that the checks above run at call time)."""
    if logger is None:
        stream = sys.stderr if stream is None else stream
    if logger is None and _is_terminal(stream):
        bar = tqdm(total=total, desc=desc, file=stream, unit=unit, maxinterval=every_seconds)
    else:
        if logger is not None:
            emit = _logger_emit(logger)
        else:
            emit = _stream_emit(stream)
        bar = tqdm(total=total, desc=desc, file=_LineSink(emit), unit=f" {unit}",
                   bar_format=_LINE if total is not None else _LINE_NO_TOTAL,
                   mininterval=every_seconds, maxinterval=every_seconds, miniters=1,
                   smoothing=0)   # rate and ETA from the average over the whole loop
    heartbeat = _Heartbeat(bar, every_seconds)
    try:
        for item in iterable:
            yield item
            bar.update(1 if count is None else count(item))
    finally:
        heartbeat.stop()
        bar.close()


class _LineSink:
    """File-like target for tqdm that turns each redraw into one line (duplicates dropped)."""

    def __init__(self, emit: Callable[[str], object]) -> None:
        self.emit = emit
        self.last = ""

    def write(self, text: str) -> None:
        line = " ".join(text.replace("\r", " ").split())
        if line and line != self.last:
            self.last = line
            self.emit(line)

    def flush(self) -> None:
        pass


class _Heartbeat:
    """Daemon thread that redraws ``bar`` when nothing was drawn for ``every_seconds``."""

    def __init__(self, bar: tqdm, every_seconds: float) -> None:
        self.bar, self.every = bar, every_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="langseg-progress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.every / 4):
            now = self.bar._time()
            if now - self.bar.last_print_t >= self.every:
                self.bar.refresh()
                self.bar.last_print_t = now

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def _logger_emit(logger: logging.Logger) -> Callable[[str], None]:
    def emit(line: str) -> None:
        logger.info(line, extra={PROGRESS_RECORD: True})
    return emit


def _stream_emit(stream: TextIO) -> Callable[[str], None]:
    def emit(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()
    return emit


def job_summary(name: str, n_images: int, seconds: float, **extra: object) -> str:
    """One line that sums up a finished job, for its log.

    Example: ``job_summary("segment agggem 000", 12, 30.0, shard="000")`` returns
    ``"segment agggem 000: 12 images in 30.0s (0.4 images/s, 2.5 s/image) shard=000"``.
    Floats in ``extra`` are written with 4 significant digits; values with spaces are quoted.

    Raises:
        ValueError: negative ``n_images`` or ``seconds``, or a newline in ``name`` or a value.
    """
    if n_images < 0:
        raise ValueError(f"job_summary: n_images must be >= 0, got {n_images}")
    if seconds < 0:
        raise ValueError(f"job_summary: seconds must be >= 0, got {seconds}")
    if seconds > 0 and n_images > 0:
        speed = f"{n_images / seconds:.3g} images/s, {seconds / n_images:.3g} s/image"
    else:
        speed = "rate n/a"
    parts = [f"{name}: {n_images} images in {format_seconds(seconds)} ({speed})"]
    parts += [f"{key}={_format_value(value)}" for key, value in extra.items()]
    line = " ".join(parts)
    if "\n" in line or "\r" in line:
        raise ValueError(f"job_summary: name and values must not contain newlines: {line!r}")
    return line


def format_seconds(seconds: float) -> str:
    """Short duration: ``"9.5s"`` below a minute, ``"4m05s"`` below an hour, else ``"2h03m"``."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"


def _is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (closed or odd streams count as not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _format_value(value: object) -> str:
    """``extra`` value for :func:`job_summary`: floats to 4 significant digits, quoted if spaced."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f'"{text}"' if " " in text else text

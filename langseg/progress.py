"""Progress reporting for long loops over images (extraction, segmentation).

On a terminal :func:`track` shows a tqdm bar. Snakemake and SLURM jobs write to a log file instead,
where a bar redraws into thousands of carriage returns; there :func:`track` writes plain lines
(to the stream, or to the job's ``logging.Logger``), one every ``every_percent`` of the work or
every ``every_seconds`` (whichever comes first), each with the count, rate and time left::

    extract_gem 003: 6/12 images (50%) | 0.52 images/s | elapsed 11.5s | ETA 11.5s

:func:`job_summary` formats the one-line summary a job logs when it ends. The clock and the stream
are parameters, so both are testable without waiting or a terminal.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


def track(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    unit: str = "images",
    every_percent: int = 10,
    every_seconds: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield the items of ``iterable`` and report progress on ``stream``.

    Args:
        iterable: the items; an item counts as done when the loop body asks for the next one.
        total: number of items expected; ``None`` takes ``len(iterable)`` when it has one (else
            no percentage and no ETA are shown).
        desc: what the loop does, e.g. ``"extract_gem 003"``; starts every plain line.
        stream: where to write; default ``sys.stderr``. A TTY gets a tqdm bar, anything else
            (a log file, a pipe, ``io.StringIO``) gets plain lines.
        logger: if given, plain lines go to ``logger.info`` (a job's log) instead of a stream,
            and there is never a bar; ``stream`` must then be ``None``.
        unit: plural noun of the items, used in ``"<n> <unit>"`` and ``"<unit>/s"``.
        every_percent: plain mode: write a line each time another ``every_percent`` % of
            ``total`` is done, integer in ``[1, 100]``.
        every_seconds: plain mode: also write a line when this many seconds passed since the
            last one (> 0); the only trigger when ``total`` is unknown.
        clock: monotonic clock in seconds (injected by tests).

    Returns:
        An iterator over the same items, in order. A final line is written when it is exhausted.
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if total is not None and total < 0:
        raise ValueError(f"track: total must be >= 0 or None, got {total}")
    if not 1 <= every_percent <= 100:
        raise ValueError(f"track: every_percent must be an integer in [1, 100], "
                         f"got {every_percent}")
    if every_seconds <= 0:
        raise ValueError(f"track: every_seconds must be > 0, got {every_seconds}")
    if logger is not None:
        if stream is not None:
            raise ValueError("track: give a stream or a logger, not both")
        emit = logger.info
    else:
        stream = sys.stderr if stream is None else stream
        if _is_terminal(stream):
            from tqdm import tqdm  # only needed on a terminal

            return iter(tqdm(iterable, total=total, desc=desc, file=stream, unit=unit))
        emit = functools.partial(_write_line, stream)
    return _plain_lines(iterable, total, desc, emit, unit, every_percent, every_seconds, clock)


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
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"


def _plain_lines(
    iterable: Iterable[T],
    total: int | None,
    desc: str,
    emit: Callable[[str], object],
    unit: str,
    every_percent: int,
    every_seconds: float,
    clock: Callable[[], float],
) -> Iterator[T]:
    """Generator behind the non-terminal mode of :func:`track`."""
    start = last_time = clock()
    done = last_done = 0
    for item in iterable:
        yield item
        done += 1
        now = clock()
        if _step(done, total, every_percent) > _step(last_done, total, every_percent) or (
            now - last_time >= every_seconds
        ):
            emit(_progress_line(desc, done, total, now - start, unit))
            last_time, last_done = now, done
    if done != last_done or done == 0:
        emit(_progress_line(desc, done, total, clock() - start, unit))


def _write_line(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def _step(done: int, total: int | None, every_percent: int) -> int:
    """Index of the ``every_percent`` band that ``done`` of ``total`` has reached (0 if unknown)."""
    if not total:
        return 0
    return (done * 100 // total) // every_percent


def _progress_line(desc: str, done: int, total: int | None, elapsed: float, unit: str) -> str:
    """``"<desc>: 6/12 images (50%) | 0.52 images/s | elapsed 11.5s | ETA 11.5s"``."""
    if total:
        count = f"{done}/{total} {unit} ({done * 100 // total}%)"
    else:
        count = f"{done} {unit}"
    if elapsed > 0 and done > 0:
        rate = f"{done / elapsed:.3g} {unit}/s"
        eta = format_seconds(elapsed * (total - done) / done) if total else "?"
    else:
        rate, eta = f"? {unit}/s", "?"
    return f"{desc}: {count} | {rate} | elapsed {format_seconds(elapsed)} | ETA {eta}"


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

"""Pipelined store writes: compression and chunk writes on a pool of threads or processes.

:class:`PipelinedWriter` wraps a :class:`~langseg.cache.store.StoreWriter`: :meth:`submit`
queues one image's arrays and returns at once, so the caller computes the next batch while
worker threads check and encode them and compress and write the chunks. At most
``max_pending`` images wait at any time (``submit`` blocks on the oldest beyond that), which
bounds the host memory held by queued arrays. Each image is one chunk per array, so workers
never write the same file, and the store ends up byte-identical to a serial write of the same
arrays.

With ``processes=True`` each worker thread hands its image's encoded chunks to a pool of as many
writer processes (``forkserver``; never forked from a process holding CUDA), each with its own
interpreter and zarr event loop, which compress and write them: every synchronous zarr call of
one process runs on that process's single event-loop thread and under its one GIL, which caps
the chunks per second one process can write however many threads call it (measured on an H100
node: 26 chunks/s from 16 threads, where zstd alone does 86; docs/performance.md). The chunks
cross as pickles (one copy of about 16 MiB per SA map).
:meth:`close` waits for every queued image, re-raises the first failure, and only then closes
the store (manifest and ``complete`` last, as in a serial write).

:func:`stage_on_host` starts the device-to-host copy of device tensors (pinned host memory,
non-blocking, on CUDA) and returns a ``ready`` callable that a worker calls before it reads them.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from langseg.cache.store import StoreWriter

if TYPE_CHECKING:
    from torch import Tensor


class StoreWriterKind(str, Enum):
    """Who compresses and writes the chunks (config ``models.store_writer``)."""

    THREADS = "threads"
    PROCESSES = "processes"


class PipelinedWriter:
    """Writes the images of one store from worker threads; a context manager like the writer.

    Args:
        writer: the store to write (from :func:`~langseg.cache.store.write_store`).
        threads: worker threads; ``0`` writes synchronously in :meth:`submit` (serial).
        max_pending: images queued but not yet written, at most (>= 1).
        processes: compress and write in ``threads`` writer processes (the threads then only
            check, encode and hand over); needs ``threads >= 1``.
    """

    def __init__(self, writer: StoreWriter, *, threads: int, max_pending: int = 16,
                 processes: bool = False) -> None:
        if threads < 0 or max_pending < 1 or (processes and threads < 1):
            raise ValueError(f"threads must be >= 0 (>= 1 with processes) and max_pending >= 1, "
                             f"got {threads} and {max_pending}")
        self.writer = writer
        self.threads = threads
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store") if threads else None
        self._processes = (ProcessPoolExecutor(threads, mp_context=multiprocessing.get_context(
            "forkserver")) if processes else None)
        self._pending: deque[Future] = deque()
        self._process_cpu: dict[int, list[float]] = {}  # pid -> [CPU at first write, at last]
        self._lock = threading.Lock()

    def submit(self, index: int, ready: Callable[[], None] | None = None, **arrays) -> None:
        """Queue image ``index``: ``ready()`` (if given) then ``writer.write(index, **arrays)``.

        Raises the error of an earlier image that failed (found while waiting for room).
        """
        if self._pool is None:
            self._write(index, ready, arrays)
            return
        while len(self._pending) >= self.max_pending:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._write, index, ready, arrays))

    @property
    def process_cpu_seconds(self) -> float:
        """CPU seconds the writer processes spent from their first write to their last (their
        start-up excluded); 0 without processes. Adds to this process's own CPU time."""
        with self._lock:
            return sum(last - first for first, last in self._process_cpu.values())

    def skip(self, index: int, reason: str) -> None:
        """Leave image ``index`` out on purpose (see :meth:`StoreWriter.skip`)."""
        self.writer.skip(index, reason)

    def wait(self) -> None:
        """Block until every queued image is written; re-raise the first failure."""
        try:
            while self._pending:
                self._pending.popleft().result()
        except BaseException:
            for future in self._pending:
                future.cancel()
            raise

    def close(self) -> None:
        """Wait for every image, stop the threads, then close the store (marks it complete)."""
        try:
            self.wait()
        finally:
            self._shutdown()
        self.writer.close()

    def _write(self, index: int, ready, arrays: dict) -> None:
        if ready is not None:
            ready()
        chunks = self.writer.encode_chunks(index, **arrays)
        if self._processes is None:
            self.writer.put_chunks(index, chunks)
        else:
            pid, start, end = self._processes.submit(
                _put_in_process, str(self.writer.path), index, chunks).result()
            with self._lock:
                self._process_cpu.setdefault(pid, [start, end])[1] = end
        self.writer.mark_written(index, arrays)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PipelinedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:  # the store stays incomplete; let running writes finish, drop queued ones
            self._shutdown()
        return False


_OPEN_ARRAYS: dict[tuple[str, str], object] = {}  # a writer process's arrays, opened once


def _put_in_process(store: str, index: int,
                    chunks: Mapping[str, np.ndarray]) -> tuple[int, float, float]:
    """In a writer process: write ``chunks`` (zarr path -> ``(1, ...)``) into image ``index``.

    Returns:
        ``(pid, CPU seconds of this process before, after)``.
    """
    import zarr

    start = time.process_time()
    for zpath, chunk in chunks.items():
        array = _OPEN_ARRAYS.get((store, zpath))
        if array is None:
            array = zarr.open_array(store, path=zpath, mode="r+").with_config(
                {"write_empty_chunks": True})  # as created: every chunk is written
            _OPEN_ARRAYS[(store, zpath)] = array
        array[index:index + 1] = chunk
    return os.getpid(), start, time.process_time()


def stage_on_host(tensors: Sequence[Tensor | None]) -> tuple[list, Callable[[], None]]:
    """Start copying device tensors to host memory; ``None`` entries pass through.

    On CUDA the copies go to pinned (page-locked) buffers, asynchronously on the current
    stream, and ``ready()`` waits for them (a CUDA event); on CPU the tensors are returned as they
    are and ``ready()`` does nothing.

    Returns:
        ``(host tensors, ready)``: the host tensors may be read only after ``ready()`` returned.
    """
    import torch

    devices = {t.device.type for t in tensors if t is not None}
    if devices <= {"cpu"}:
        return list(tensors), _nothing
    host = []
    for t in tensors:
        if t is None:
            host.append(None)
            continue
        buffer = torch.empty(t.shape, dtype=t.dtype, device="cpu", pin_memory=True)
        buffer.copy_(t, non_blocking=True)
        host.append(buffer)
    event = torch.cuda.Event()
    event.record()
    return host, event.synchronize


def _nothing() -> None:
    return None

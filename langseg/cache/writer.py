"""Pipelined store writes: compression and chunk writes on a pool of threads.

:class:`PipelinedWriter` wraps a :class:`~langseg.cache.store.StoreWriter`: :meth:`submit`
queues one image's arrays and returns at once, so the caller computes the next batch while
worker threads check and encode them and compress and write the chunks. At most
``max_pending`` images wait at any time (``submit`` blocks on the oldest beyond that), which
bounds the host memory held by queued arrays. Each image is one chunk per array, so workers
never write the same file, and the store ends up byte-identical to a serial write of the same
arrays.

The threads scale because zstd and the file writes release the GIL and each chunk is written
whole (``array[i:i+1] = chunk``: zarr skips its merge step on its single event-loop thread):
81 images/s from 16 threads on an H200 node, where writer processes (one interpreter and event
loop each, tried in #12) gave 5 (the pickled 16 MiB handover costs more than it frees;
docs/performance.md).
:meth:`close` waits for every queued image, re-raises the first failure, and only then closes
the store (manifest and ``complete`` last, as in a serial write).

:func:`stage_on_host` starts the device-to-host copy of device tensors (pinned host memory,
non-blocking, on CUDA) and returns a ``ready`` callable that a worker calls before it reads them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from langseg.cache.store import StoreWriter

if TYPE_CHECKING:
    from torch import Tensor


class PipelinedWriter:
    """Writes the images of one store from worker threads; a context manager like the writer.

    Args:
        writer: the store to write (from :func:`~langseg.cache.store.write_store`).
        threads: worker threads; ``0`` writes synchronously in :meth:`submit` (serial).
        max_pending: images queued but not yet written, at most (>= 1).

    Attributes:
        blocked_seconds: time :meth:`submit` spent waiting for room in the queue (serial: the
            writes themselves): how long the writes held up the caller.
    """

    def __init__(self, writer: StoreWriter, *, threads: int, max_pending: int = 16) -> None:
        if threads < 0 or max_pending < 1:
            raise ValueError(f"threads must be >= 0 and max_pending >= 1, "
                             f"got {threads} and {max_pending}")
        self.writer = writer
        self.threads = threads
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store") if threads else None
        self._pending: deque[Future] = deque()
        self.blocked_seconds = 0.0  # in submit(): waiting for room (serial: writing)

    def submit(self, index: int, ready: Callable[[], None] | None = None, **arrays) -> None:
        """Queue image ``index``: ``ready()`` (if given) then ``writer.write(index, **arrays)``.

        Raises the error of an earlier image that failed (found while waiting for room).
        """
        if self._pool is None:
            start = time.perf_counter()
            self._write(index, ready, arrays)
            self.blocked_seconds += time.perf_counter() - start
            return
        if len(self._pending) >= self.max_pending:
            start = time.perf_counter()
            while len(self._pending) >= self.max_pending:
                self._pending.popleft().result()
            self.blocked_seconds += time.perf_counter() - start
        self._pending.append(self._pool.submit(self._write, index, ready, arrays))

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
        self.writer.put_chunks(index, self.writer.encode_chunks(index, **arrays))
        self.writer.mark_written(index, arrays)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PipelinedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:  # the store stays incomplete; let running writes finish, drop queued ones
            self._shutdown()
        return False


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

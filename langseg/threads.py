"""Thread pools of a CPU job: one OpenMP runtime works in parallel, the others stay serial.

A segment job loads four thread pools: torch's OpenMP runtime (libgomp in ``torch/lib``),
scikit-learn's own copy of libgomp (KMeans), and the OpenBLAS builds of numpy and of SciPy.
Each keeps its idle workers spinning for a while after a parallel region, so with two threads
on two cores the next library's threads find the cores busy: SpecClust took 0.35 s or 3.4 s per
image depending on who spun when. :func:`pinned_threads` gives torch (the SVDs, resizes and
softmaxes) the job's threads and limits every other pool to one thread (threadpoolctl), so no
two pools ever run in parallel; idle OpenMP workers are asked to sleep (``OMP_WAIT_POLICY``,
honoured only if set before the runtimes load, i.e. when this runs first in the process).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """torch uses ``threads`` threads inside the block; BLAS and other OpenMP pools use 1.

    Args:
        threads: the job's CPU threads (>= 1), e.g. Snakemake's ``threads``.

    Raises:
        ValueError: ``threads`` < 1.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import sklearn.cluster  # noqa: F401  loads scikit-learn's OpenMP runtime, to limit it too
    import torch
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    torch_lib = os.path.dirname(torch.__file__)
    others = [lib.filepath for lib in controller.lib_controllers
              if not lib.filepath.startswith(torch_lib)]
    previous = torch.get_num_threads()
    with controller.select(filepath=others).limit(limits=1):
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

"""Thread pinning of CPU jobs: torch gets the threads, every other pool runs serially."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from langseg.threads import pinned_threads


def _pools() -> dict[str, int]:
    return {info["filepath"]: info["num_threads"] for info in threadpool_info()}


def test_torch_gets_the_threads_and_the_other_pools_one_then_restored():
    before_torch = torch.get_num_threads()
    before = _pools()
    with pinned_threads(2):
        assert torch.get_num_threads() == 2
        inside = _pools()
        others = {path: n for path, n in inside.items() if "/torch/" not in path}
        assert any("sklearn" in p or "scikit_learn" in p for p in others)  # KMeans' runtime
        assert any("openblas" in p for p in others)  # numpy's / SciPy's BLAS
        assert set(others.values()) == {1}
    assert torch.get_num_threads() == before_torch
    after = _pools()
    assert {p: after[p] for p in before} == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be an integer >= 1"), pinned_threads(bad):
        pass

"""How many GPUs an extraction job asks the scheduler for, decided without importing torch.

The extraction rules declare ``resources: gpu=N`` for runs on this machine, where the workflow
profile (profiles/default) caps the sum of running jobs' ``gpu`` at 1 so that two jobs never
share a GPU. A job that runs on the CPU must ask for 0: with 1 it would take the single slot and
every CPU extraction job would wait for the previous one, although ``--cores`` already bounds how
many run at once. Cluster profiles set ``gpu`` per rule themselves (profiles/slurm: 1, i.e.
``--gpus=1``): the login node's devices say nothing about the compute nodes'. Deciding this must
stay cheap (the Snakefile is parsed by every job), hence a device-file check instead of
``torch.cuda.is_available()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from langseg.params import Device


def gpu_visible(dev_dir: Path = Path("/dev"), environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this machine shows an NVIDIA GPU to new processes.

    True when a device file ``nvidia0``, ``nvidia1``, ... exists in ``dev_dir`` and
    ``CUDA_VISIBLE_DEVICES`` does not hide every GPU (unset, or not ``""``/``"-1"``).
    """
    if environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False
    return any(path.name[len("nvidia"):].isdigit() for path in dev_dir.glob("nvidia*"))


def extraction_gpus(device: Device | str, *, gpu_present: bool) -> int:
    """GPUs (0 or 1) an extraction job run on this machine requests.

    Args:
        device: the config's ``models.device`` (``auto``, ``cpu`` or ``cuda``).
        gpu_present: this machine shows a GPU (:func:`gpu_visible`).

    Returns:
        0 for ``cpu``; 1 for ``cuda``; for ``auto`` 1 when a GPU is present, else 0 (the job
        will run on the CPU).

    Raises:
        ValueError: ``device`` is not one of the :class:`~langseg.params.Device` values.
    """
    try:
        device = Device(device)
    except ValueError:
        raise ValueError(f"models.device must be one of {[d.value for d in Device]}, "
                         f"got {device!r}") from None
    if device is Device.CPU:
        return 0
    if device is Device.CUDA:
        return 1
    return int(gpu_present)

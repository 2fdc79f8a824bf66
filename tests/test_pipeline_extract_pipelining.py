"""Extraction loop pieces: batches split when CUDA memory runs out; SA queued per device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langseg.cache import SACodec, open_store, sa_array_spec, write_store
from langseg.cache.writer import PipelinedWriter, StoreWriterKind
from langseg.pipeline.extract import HalvingOnOOM, RuntimeOptions, queue_sa
from langseg.synthetic import proxy_self_attention, segment_map


def test_halving_on_oom_splits_keeps_order_and_remembers_the_size():
    sizes = []

    def fn(part):
        sizes.append(len(part))
        if len(part) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return [x * 10 for x in part]

    run = HalvingOnOOM(fn, batch_size=8)
    assert run(list(range(7))) == [x * 10 for x in range(7)]
    assert sizes == [7, 4, 2, 2, 2, 1] and run.size == 2
    sizes.clear()
    assert run([1, 2, 3]) == [10, 20, 30] and sizes == [2, 1]  # starts at the size that fitted


def test_halving_on_oom_gives_up_at_one_image():
    def fn(part):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(MemoryError, match="models.max_gpu_memory"):
        HalvingOnOOM(fn, batch_size=2)([0, 1])


def test_queue_sa_on_cpu_stores_what_the_serial_writer_stores(tmp_path):
    sa = [proxy_self_attention(segment_map(8, 3, seed=i), seed=i) for i in range(3)]
    ids = ["a", "b", "c"]
    spec = {"sa": sa_array_spec(64, SACodec.U8_POW06)}
    with PipelinedWriter(write_store(tmp_path / "p.zarr", manifest={}, image_ids=ids,
                                     arrays=spec), threads=2) as writer:
        for i, m in enumerate(sa):
            queue_sa(writer, i, torch.from_numpy(m), SACodec.U8_POW06)
    with write_store(tmp_path / "s.zarr", manifest={}, image_ids=ids, arrays=spec) as serial:
        for i, m in enumerate(sa):
            serial.write_sa(i, m)
    piped = open_store(tmp_path / "p.zarr", expected={})
    ref = open_store(tmp_path / "s.zarr", expected={})
    for i in range(3):
        np.testing.assert_array_equal(piped.read_encoded_sa(i).values,
                                      ref.read_encoded_sa(i).values)


def test_runtime_options_read_the_gpu_memory_cap():
    config = {"models": {"device": "cpu", "batch_size": 4, "max_gpu_memory": 12.5},
              "cache": {"sa_codec": "default"}}
    options = RuntimeOptions.from_config(config, threads=3)
    assert options.max_gpu_memory == 12.5 and options.threads == 3 and options.batch_size == 4
    assert options.store_writer is StoreWriterKind.THREADS  # the schema's default
    config["models"]["store_writer"] = "processes"
    assert RuntimeOptions.from_config(config, threads=3).store_writer is \
        StoreWriterKind.PROCESSES

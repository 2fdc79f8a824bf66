"""Extraction loop pieces: batches split when CUDA memory runs out; SA queued per device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langseg.cache import SACodec, open_store, sa_array_spec, write_store
from langseg.cache import ArraySpec
from langseg.cache.writer import PipelinedWriter
from langseg.pipeline.extract import HalvingOnOOM, RuntimeOptions, ShardJob, queue_sa, run_job
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
    assert options.loaders == 2  # two batches read ahead, whatever the config


# ------------------------------------------------------------------------------ run_job


def _image_files(folder, n: int, corrupt: int | None = None) -> list:
    from PIL import Image

    paths = []
    for i in range(n):
        paths.append(folder / f"img{i}.png")
        if i == corrupt:
            paths[-1].write_bytes(b"not an image")
        else:
            Image.new("RGB", (4, 3), (i, 0, 0)).save(paths[-1])
    return paths


def _recording_job(store_path, n: int, loaders: int, *, threads: int = 2, max_pending: int = 4):
    """A job whose prepare() reads each image's red value and whose write_batch() stores it;
    the first ``loaders`` batches can only be prepared together (a barrier of that size)."""
    import threading

    barrier = threading.Barrier(loaders, timeout=5)
    seen: dict = {"prepared": [], "written": []}
    store = write_store(store_path, manifest={}, image_ids=[str(i) for i in range(n)],
                        arrays={"red": ArraySpec(shape=(1,), dtype="float32")})
    writer = PipelinedWriter(store, threads=threads, max_pending=max_pending)

    def prepare(images):
        reds = [float(im.getpixel((0, 0))[0]) for im in images]
        seen["prepared"].append(reds)
        if reds[0] < loaders * 2:  # one of the first `loaders` batches (batch size 2)
            barrier.wait()
        return reds

    def write_batch(batch, reds):
        seen["written"].append(list(batch))
        for index, red in zip(batch, reds):
            writer.submit(index, red=np.array([red], np.float32))

    return ShardJob(writer, write_batch, prepare), seen


@pytest.mark.parametrize("loaders", [1, 2, 3])
def test_run_job_prepares_batches_ahead_and_writes_every_image_in_order(tmp_path, loaders):
    paths = _image_files(tmp_path, 7, corrupt=5)
    job, seen = _recording_job(tmp_path / "s.zarr", 7, loaders)
    times = run_job(job, paths, 2, desc="test", loaders=loaders)  # the barrier needs them all
    assert seen["written"] == [[0, 1], [2, 3], [4], [6]]  # image 5 cannot be decoded
    assert sorted(map(tuple, seen["prepared"])) == [(0.0, 1.0), (2.0, 3.0), (4.0,), (6.0,)]
    reader = open_store(tmp_path / "s.zarr", expected={})
    assert [reader.read("red", i).tolist() for i in (0, 3, 6)] == [[0.0], [3.0], [6.0]]
    assert list(reader.skipped) == ["5"]  # recorded with its reason
    assert min(times.waiting_for_images, times.computing, times.waiting_for_writer,
               times.closing) >= 0


def test_run_job_times_where_the_main_thread_waited(tmp_path):
    import threading

    paths = _image_files(tmp_path, 4)
    job, _ = _recording_job(tmp_path / "s.zarr", 4, 1, threads=1, max_pending=1)
    submit = job.writer.submit

    def slow_submit(index, **arrays):  # every write takes 0.1 s in the writer's thread
        submit(index, ready=lambda: threading.Event().wait(0.1), **arrays)

    job.writer.submit = slow_submit
    times = run_job(job, paths, 2, desc="test")
    # 4 writes of 0.1 s, one at a time: the main thread waits for 2-3 of them, close for the last
    assert times.waiting_for_writer > 0.15 and times.closing > 0.05
    assert times.computing < times.waiting_for_writer / 2  # the waits are not computing
    fields = times.as_log_fields()
    assert list(fields) == ["waited_images", "computing", "waited_writer", "closing"]
    assert fields["waited_writer"] == f"{times.waiting_for_writer:.2f}s"


def test_run_job_needs_a_loader(tmp_path):
    job, _ = _recording_job(tmp_path / "s.zarr", 1, 1)
    with pytest.raises(ValueError, match="loaders must be >= 1, got 0"):
        run_job(job, [], 2, desc="test", loaders=0)
    job.writer._shutdown()

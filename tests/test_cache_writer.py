"""Pipelined store writes: identical stores to serial writes, failures surface, no silent gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from langseg.cache import (ArraySpec, CacheError, EncodedSA, SACodec, encode_sa,
                           open_store, sa_array_spec, write_store)
from langseg.cache.codecs import encode_sa_tensor
from langseg.cache.writer import PipelinedWriter, stage_on_host
from langseg.synthetic import proxy_self_attention, segment_map

IDS = [f"img{i}" for i in range(7)]
MANIFEST = {"extraction": {"source": "sd_sa"}}


def _sa(i: int) -> np.ndarray:
    return proxy_self_attention(segment_map(8, 1 + i % 4, seed=i), noise=1.0, seed=i)  # (64, 64)


def _store(path: Path, codec: SACodec):
    return write_store(path, manifest=MANIFEST, image_ids=IDS,
                       arrays={"sa": sa_array_spec(64, codec),
                               "cosines": ArraySpec(shape=(3, 4), dtype="float32")})


def _files(path: Path) -> dict[str, bytes]:
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file()}


def _encoded_on_torch(i: int, codec: SACodec) -> EncodedSA:
    values, scale = encode_sa_tensor(torch.from_numpy(_sa(i)), codec)
    return EncodedSA(codec, values.numpy(), None if scale is None else scale.numpy())


@pytest.mark.parametrize("codec", [SACodec.U8_POW06, SACodec.FP16_ZSTD])
def test_pipelined_writes_give_the_serial_store_byte_for_byte(tmp_path, codec):
    serial = _store(tmp_path / "serial.zarr", codec)
    for i in range(len(IDS)):
        serial.write(i, sa=_sa(i), cosines=np.full((3, 4), i, np.float32))
    serial.close()
    calls = []
    with PipelinedWriter(_store(tmp_path / "piped.zarr", codec), threads=3,
                         max_pending=2) as piped:
        for i in reversed(range(len(IDS))):  # any order; SA encoded by torch half the time
            sa = _encoded_on_torch(i, codec) if i % 2 else _sa(i)
            piped.submit(i, ready=lambda i=i: calls.append(i), sa=sa,
                         cosines=np.full((3, 4), i, np.float32))
    assert sorted(calls) == list(range(len(IDS)))
    serial_files, piped_files = _files(tmp_path / "serial.zarr"), _files(tmp_path / "piped.zarr")
    assert len(serial_files) > 2 * len(IDS)  # every chunk of every array plus metadata
    assert piped_files == serial_files
    reader = open_store(tmp_path / "piped.zarr", expected=MANIFEST)
    np.testing.assert_array_equal(reader.read_encoded_sa(3).values,
                                  encode_sa(_sa(3), codec).values)


def test_a_failed_write_surfaces_and_the_store_stays_incomplete(tmp_path):
    piped = PipelinedWriter(_store(tmp_path / "s.zarr", SACodec.U8_POW06), threads=2)
    for i in range(len(IDS)):
        bad = np.ones((64, 64), np.float32)  # rows sum to 64: refused by the encoder
        piped.submit(i, sa=bad if i == 4 else _sa(i), cosines=np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="sum to 1"):
        piped.close()
    with pytest.raises(CacheError, match="incomplete"):
        open_store(tmp_path / "s.zarr", expected=MANIFEST)


def test_exception_in_the_with_block_leaves_the_store_incomplete(tmp_path):
    piped = PipelinedWriter(_store(tmp_path / "s.zarr", SACodec.U8_POW06), threads=2)
    with pytest.raises(RuntimeError, match="model failed"), piped:
        for i in range(len(IDS)):
            piped.submit(i, sa=_sa(i), cosines=np.zeros((3, 4), np.float32))
        raise RuntimeError("model failed")
    with pytest.raises(CacheError, match="incomplete"):
        open_store(tmp_path / "s.zarr", expected=MANIFEST)


def test_encoded_sa_of_another_codec_is_refused(tmp_path):
    writer = _store(tmp_path / "s.zarr", SACodec.U8_POW06)
    with pytest.raises(ValueError, match="stores u8-pow0.6"):
        writer.write(0, sa=encode_sa(_sa(0), SACodec.U8_SQRT))
    with pytest.raises(ValueError, match="stores u8-pow0.6"):
        writer.write(0, sa=encode_sa(_sa(0), SACodec.FP16_ZSTD))


def test_bad_settings_and_cpu_staging():
    with pytest.raises(ValueError, match="threads"):
        PipelinedWriter(None, threads=-1)
    t = torch.ones(3)
    host, ready = stage_on_host([t, None])
    ready()
    assert host[0] is t and host[1] is None


def test_serial_pipelined_writer_calls_ready_then_writes_and_skips(tmp_path):
    calls = []
    arrays = {"cosines": ArraySpec(shape=(2,), dtype="float32")}
    writer = write_store(tmp_path / "s.zarr", manifest=MANIFEST, image_ids=IDS[:3], arrays=arrays)
    with PipelinedWriter(writer, threads=0) as piped:  # 0 threads: written inside submit
        piped.submit(2, ready=lambda: calls.append(2), cosines=np.full(2, 2.0, np.float32))
        assert calls == [2] and (tmp_path / "s.zarr" / "cosines" / "c" / "2").exists()
        piped.submit(0, cosines=np.zeros(2, np.float32))
        piped.skip(1, "cannot decode img1.jpg")
    reader = open_store(tmp_path / "s.zarr", expected=MANIFEST)
    assert reader.skipped == {"img1": "cannot decode img1.jpg"}
    assert reader.read("cosines", 2).tolist() == [2.0, 2.0]


def _cosines_store(path: Path, n: int = 4):
    return write_store(path, manifest=MANIFEST, image_ids=IDS[:n],
                       arrays={"cosines": ArraySpec(shape=(2,), dtype="float32")})


def test_settings_at_their_limits(tmp_path):
    writer = _cosines_store(tmp_path / "s.zarr")
    piped = PipelinedWriter(writer, threads=2)
    assert (piped.threads, piped.max_pending) == (2, 16)
    piped._shutdown()  # nothing written: stop the threads, leave the store incomplete
    PipelinedWriter(_cosines_store(tmp_path / "t.zarr"), threads=1, max_pending=1)._shutdown()
    with pytest.raises(ValueError, match="max_pending >= 1, got 1 and 0"):
        PipelinedWriter(writer, threads=1, max_pending=0)


def test_exactly_the_given_number_of_named_worker_threads(tmp_path):
    import threading

    names, release = set(), threading.Event()

    def ready():
        names.add(threading.current_thread().name)
        release.wait(timeout=5)  # hold every worker until all images are queued

    with PipelinedWriter(_cosines_store(tmp_path / "s.zarr"), threads=2) as piped:
        for i in range(4):
            piped.submit(i, ready=ready, cosines=np.zeros(2, np.float32))
        release.set()
    assert names == {"store_0", "store_1"}
    assert not [t for t in threading.enumerate() if t.name.startswith("store_")]  # joined


def test_submit_waits_for_room_before_it_returns(tmp_path):
    import threading

    log, never = [], threading.Event()

    def slow():
        never.wait(timeout=0.5)  # nobody sets it: a submit that waited saw this image finish
        log.append("image 0 ready")

    with PipelinedWriter(_cosines_store(tmp_path / "s.zarr", 2), threads=1,
                         max_pending=1) as piped:
        piped.submit(0, ready=slow, cosines=np.zeros(2, np.float32))
        piped.submit(1, cosines=np.zeros(2, np.float32))  # no room until image 0 is written
        log.append("image 1 submitted")
    assert log == ["image 0 ready", "image 1 submitted"]


def test_an_exception_in_the_with_block_drops_the_queued_images(tmp_path):
    import threading

    hold = threading.Event()
    path = tmp_path / "s.zarr"
    with pytest.raises(RuntimeError, match="model crashed"):
        with PipelinedWriter(_cosines_store(path), threads=1) as piped:
            # image 0 holds the only worker (1 s: far longer than queueing 3 images and raising)
            piped.submit(0, ready=lambda: hold.wait(timeout=1.0),
                         cosines=np.ones(2, np.float32))
            for i in (1, 2, 3):
                piped.submit(i, cosines=np.ones(2, np.float32))
            raise RuntimeError("model crashed")
    written = sorted(p.name for p in (path / "cosines" / "c").iterdir())
    assert written == ["0"]  # the running image finished, the queued ones were cancelled


def test_blocked_seconds_count_the_waits_for_room_and_the_serial_writes(tmp_path):
    import threading
    import time

    def slow():
        threading.Event().wait(0.2)

    with PipelinedWriter(_cosines_store(tmp_path / "s.zarr", 3), threads=1,
                         max_pending=1) as piped:
        piped.submit(0, ready=slow, cosines=np.zeros(2, np.float32))
        assert piped.blocked_seconds == 0  # room for one: returned at once
        start = time.perf_counter()
        piped.submit(1, cosines=np.zeros(2, np.float32))  # waits for image 0
        assert 0.1 < piped.blocked_seconds <= time.perf_counter() - start
        piped.submit(2, cosines=np.zeros(2, np.float32))
    with PipelinedWriter(_cosines_store(tmp_path / "t.zarr", 1), threads=0) as serial:
        serial.submit(0, ready=slow, cosines=np.zeros(2, np.float32))
        assert serial.blocked_seconds > 0.1  # serial: the write itself held the caller

"""Writer processes: the same store bytes as a serial write; failures in a process surface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langseg.cache import (DEFAULT_SA_CODEC, ArraySpec, CacheError, SACodec, open_store,
                           sa_array_spec, write_store)
from langseg.cache.writer import PipelinedWriter
from langseg.synthetic import proxy_self_attention, segment_map

IDS = [f"img{i}" for i in range(6)]
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


@pytest.mark.parametrize("codec", [DEFAULT_SA_CODEC, SACodec.FP16_ZSTD])
def test_writer_processes_give_the_serial_store_byte_for_byte(tmp_path, codec):
    with _store(tmp_path / "serial.zarr", codec) as serial:
        for i in range(len(IDS)):
            serial.write(i, sa=_sa(i), cosines=np.full((3, 4), i, np.float32))
    with PipelinedWriter(_store(tmp_path / "procs.zarr", codec), threads=2, max_pending=3,
                         processes=True) as piped:
        for i in reversed(range(len(IDS))):
            piped.submit(i, sa=_sa(i), cosines=np.full((3, 4), i, np.float32))
    serial_files = _files(tmp_path / "serial.zarr")
    assert len(serial_files) > 2 * len(IDS)  # every chunk of every array plus metadata
    assert _files(tmp_path / "procs.zarr") == serial_files
    reader = open_store(tmp_path / "procs.zarr", expected=MANIFEST)
    np.testing.assert_array_equal(reader.read("cosines", 4), np.full((3, 4), 4, np.float32))


def test_a_failure_in_a_writer_process_surfaces_and_the_store_stays_incomplete(tmp_path):
    writer = _store(tmp_path / "s.zarr", DEFAULT_SA_CODEC)
    (tmp_path / "s.zarr" / "cosines" / "zarr.json").unlink()  # the processes cannot open it
    piped = PipelinedWriter(writer, threads=2, processes=True)
    for i in range(len(IDS)):
        piped.submit(i, sa=_sa(i), cosines=np.zeros((3, 4), np.float32))
    with pytest.raises(Exception, match="cosines"):
        piped.close()
    with pytest.raises(CacheError, match="incomplete"):
        open_store(tmp_path / "s.zarr", expected=MANIFEST)


def test_processes_need_threads():
    with pytest.raises(ValueError, match="with processes"):
        PipelinedWriter(None, threads=0, processes=True)


def test_cpu_of_the_writer_processes_is_counted(tmp_path):
    with PipelinedWriter(_store(tmp_path / "p.zarr", DEFAULT_SA_CODEC), threads=2,
                         processes=True) as piped:
        for i in range(len(IDS)):
            piped.submit(i, sa=_sa(i), cosines=np.zeros((3, 4), np.float32))
        piped.wait()
        assert piped.process_cpu_seconds > 0
    with PipelinedWriter(_store(tmp_path / "t.zarr", DEFAULT_SA_CODEC), threads=2) as piped:
        for i in range(len(IDS)):
            piped.submit(i, sa=_sa(i), cosines=np.zeros((3, 4), np.float32))
    assert piped.process_cpu_seconds == 0

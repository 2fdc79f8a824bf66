"""langseg.data.index: shards and the index TSV."""

from pathlib import Path

import pytest

from langseg.data import Sample, read_index, shard_names, shard_samples, write_index


def _samples(n: int) -> list[Sample]:
    return [Sample(f"id{k}", Path(f"/d/img/id{k}.jpg"), Path(f"/d/gt/id{k}.png")) for k in range(n)]


def test_shard_names_and_sizes():
    assert shard_names(0, 4) == []
    assert shard_names(10, 4) == ["000", "001", "002"]  # ceil(10 / 4) = 3
    assert shard_names(8, 4) == ["000", "001"]
    shards = shard_samples(_samples(10), 4)
    assert [len(s) for s in shards] == [4, 4, 2]
    assert [s.image_id for s in shards[2]] == ["id8", "id9"]  # shard k = [k*S, (k+1)*S)
    assert sum(shards, []) == _samples(10)


def test_shard_arguments_are_validated():
    with pytest.raises(ValueError, match="shard_size"):
        shard_names(3, 0)
    with pytest.raises(ValueError, match="set shard_size >= 6"):
        shard_names(5001, 5)  # 1001 shards > 1000; ceil(5001 / 1000) = 6


def test_index_round_trip(tmp_path):
    path = tmp_path / "results" / "voc2012" / "val" / "index.tsv"
    write_index(_samples(5), 2, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "image_id\timage_path\tmask_path\tshard"
    assert lines[5] == "id4\t/d/img/id4.jpg\t/d/gt/id4.png\t002"
    entries = read_index(path)
    assert [s for s, _ in entries] == _samples(5)
    assert [shard for _, shard in entries] == ["000", "000", "001", "001", "002"]


def test_index_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"index\.tsv"):
        read_index(tmp_path / "index.tsv")
    (tmp_path / "bad.tsv").write_text("id\tpath\n")
    with pytest.raises(ValueError, match="header"):
        read_index(tmp_path / "bad.tsv")
    (tmp_path / "short.tsv").write_text("image_id\timage_path\tmask_path\tshard\na\tb\tc\n")
    with pytest.raises(ValueError, match=r"short\.tsv:2: expected 4"):
        read_index(tmp_path / "short.tsv")
    with pytest.raises(ValueError, match="tab or newline"):
        write_index([Sample("a\tb", Path("x"), Path("y"))], 1, tmp_path / "i.tsv")

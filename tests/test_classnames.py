"""Class-name files with synonyms: parsing, errors, and the max over each class's names."""

import numpy as np
import pytest

from langseg.classnames import (flatten_names, max_over_synonyms, parse_class_lines,
                                read_class_file)


def test_parse_lines_synonyms_blank_lines_and_bom():
    lines = ["\ufeffsky, wall ,tree\n", "\n", "  person, person in shirt  ", "car"]
    assert parse_class_lines(lines, "x.txt") == (("sky", "wall", "tree"),
                                                 ("person", "person in shirt"), ("car",))


def test_duplicate_name_across_classes_names_source_and_lines():
    with pytest.raises(ValueError, match=r"cls\.txt, line 3: name 'bed' is already listed on "
                                         r"line 1"):
        parse_class_lines(["sky, bed", "car", "bed"], "cls.txt")


@pytest.mark.parametrize("lines", [["a,,b"], ["a, b,"], [], ["", "  "]])
def test_empty_names_or_no_class_refused(lines):
    with pytest.raises(ValueError, match="src"):
        parse_class_lines(lines, "src")


def test_read_class_file_utf8_and_errors(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeffcafé, coffee\nmug\n".encode())
    assert read_class_file(path) == (("café", "coffee"), ("mug",))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="bad.txt"):
        read_class_file(bad)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_class_file(tmp_path / "missing.txt")


def test_flatten_names():
    assert flatten_names((("a", "b"), ("c",))) == (("a", "b", "c"), (2, 1))


def test_max_over_synonyms_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    counts = [2, 1, 3]
    scores = rng.random((4, 6, 5)).astype(np.float32)
    out = max_over_synonyms(scores, counts, axis=1)
    assert out.dtype == np.float32 and out.shape == (4, 3, 5)
    expected = np.empty((4, 3, 5))
    start = 0
    for k, count in enumerate(counts):
        for i in range(4):
            for j in range(5):
                expected[i, k, j] = max(float(scores[i, start + n, j]) for n in range(count))
        start += count
    np.testing.assert_array_equal(out, expected.astype(np.float32))


def test_max_over_synonyms_last_axis_default_and_errors():
    assert max_over_synonyms(np.array([1, 5, 2, 7]), [3, 1]).tolist() == [5, 7]
    with pytest.raises(ValueError, match="sum to 3"):
        max_over_synonyms(np.zeros(4), [2, 1])
    with pytest.raises(ValueError, match="at least one name"):
        max_over_synonyms(np.zeros(4), [4, 0])


def test_shipped_class_files_parse():
    from langseg.params import Benchmark
    from langseg.protocol.classes import benchmark_classes

    sizes = {"voc21": 21, "voc20": 20, "context60": 60, "context59": 59, "coco_object": 81,
             "coco_stuff171": 171, "cityscapes19": 19, "ade20k": 150}
    for benchmark in Benchmark:
        assert len(benchmark_classes(benchmark)) == sizes[benchmark.value]
    voc = benchmark_classes("voc21")
    assert voc[0][0] == "sky" and len(voc[0]) == 26
    assert voc[15][:2] == ("person", "person in shirt")

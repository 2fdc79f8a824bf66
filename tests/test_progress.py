"""Tests of langseg.progress: plain log lines with rate and ETA, tqdm on a TTY, job summaries."""

from __future__ import annotations

import io
import logging

import pytest

from langseg.progress import format_seconds, job_summary, track


class FakeClock:
    """Returns the given times in order, one per call."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_every_half_with_rate_and_eta():
    stream = io.StringIO()
    # clock: start 0, then 2, 4, 6, 8 after items 1..4; every_percent=50 -> lines after item 2
    # (50 %) and item 4 (100 %). After 2 items at 4 s: rate 2/4 = 0.5/s, ETA 4 s * 2 left / 2 = 4 s.
    # After 4 at 8 s: rate 4/8 = 0.5/s, ETA 0 s.
    items = list(track(range(4), total=4, desc="x", stream=stream, every_percent=50,
                       clock=FakeClock(0, 2, 4, 6, 8)))
    assert items == [0, 1, 2, 3]
    assert stream.getvalue().splitlines() == [
        "x: 2/4 images (50%) | 0.5 images/s | elapsed 4.0s | ETA 4.0s",
        "x: 4/4 images (100%) | 0.5 images/s | elapsed 8.0s | ETA 0.0s",
    ]


def test_plain_lines_by_time_when_total_unknown():
    stream = io.StringIO()
    # generator: no len, no total -> only the 30 s trigger and the final line.
    # clock: start 0; item 1 at 10 (no line), item 2 at 40 (40 - 0 >= 30: line, 2/40 = 0.05/s),
    # item 3 at 45 (5 s since last line: none), end at 80: 3/80 = 0.0375/s, elapsed 1m20s.
    gen = (c for c in "abc")
    out = list(track(gen, desc="g", stream=stream, clock=FakeClock(0, 10, 40, 45, 80)))
    assert out == ["a", "b", "c"]
    assert stream.getvalue().splitlines() == [
        "g: 2 images | 0.05 images/s | elapsed 40.0s | ETA ?",
        "g: 3 images | 0.0375 images/s | elapsed 1m20s | ETA ?",
    ]


def test_default_ten_percent_lines_and_total_from_len():
    stream = io.StringIO()
    clock = FakeClock(*range(21))  # start 0, item k done at k s
    list(track(list(range(20)), desc="seg", stream=stream, unit="shards", clock=clock))
    lines = stream.getvalue().splitlines()
    # 20 items, a line every 10 % = every 2 items -> 10 lines, the first after item 2 at 2 s.
    assert len(lines) == 10
    assert lines[0] == "seg: 2/20 shards (10%) | 1 shards/s | elapsed 2.0s | ETA 18.0s"
    assert all("shards/s" in line and "ETA" in line for line in lines)


def test_short_iterable_writes_final_line():
    stream = io.StringIO()
    # total says 10 but only 1 item comes: 10 % reached after item 1 -> line; no duplicate at end.
    list(track(iter([7]), total=10, desc="s", stream=stream, clock=FakeClock(0, 5)))
    assert stream.getvalue() == "s: 1/10 images (10%) | 0.2 images/s | elapsed 5.0s | ETA 45.0s\n"


def test_empty_iterable_reports_zero():
    stream = io.StringIO()
    assert list(track([], desc="e", stream=stream, clock=FakeClock(0, 0))) == []
    assert stream.getvalue() == "e: 0 images | ? images/s | elapsed 0.0s | ETA ?\n"


def test_track_is_lazy():
    consumed = []

    def gen():
        for i in range(3):
            consumed.append(i)
            yield i

    it = track(gen(), total=3, desc="l", stream=io.StringIO(), clock=FakeClock(0, 1, 2, 3, 4))
    assert consumed == []
    assert next(it) == 0 and consumed == [0]


def test_terminal_gets_tqdm_bar():
    stream = FakeTerminal()
    assert list(track(range(3), desc="bar", stream=stream)) == [0, 1, 2]
    text = stream.getvalue()
    assert "bar" in text and "3/3" in text and "\r" in text  # tqdm redraws with carriage returns


@pytest.mark.parametrize("kwargs, match", [
    ({"total": -1}, "total must be >= 0"),
    ({"every_percent": 0}, "every_percent"),
    ({"every_seconds": 0}, "every_seconds"),
])
def test_track_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        track([1], desc="d", stream=io.StringIO(), **kwargs)


def test_job_summary_format():
    # 12 images in 30 s: 12/30 = 0.4 images/s, 30/12 = 2.5 s/image
    assert job_summary("segment agggem 000", 12, 30.0, shard="000") == (
        "segment agggem 000: 12 images in 30.0s (0.4 images/s, 2.5 s/image) shard=000"
    )
    # 3 images in 245 s = 4m05s; 3/245 = 0.012244.. -> 0.0122; 245/3 = 81.67 -> 81.7
    assert job_summary("extract_gem", 3, 245.0, miou=0.567891, note="two words") == (
        'extract_gem: 3 images in 4m05s (0.0122 images/s, 81.7 s/image) miou=0.5679 '
        'note="two words"'
    )
    assert job_summary("empty", 0, 0.0) == "empty: 0 images in 0.0s (rate n/a)"


@pytest.mark.parametrize("args, match", [
    (("j", -1, 1.0), "n_images"),
    (("j", 1, -1.0), "seconds"),
    (("a\nb", 1, 1.0), "newlines"),
])
def test_job_summary_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        job_summary(*args)


@pytest.mark.parametrize("seconds, text", [
    (9.54, "9.5s"), (59.96, "1m00s"), (245, "4m05s"), (7380, "2h03m"),
])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_lines_go_to_the_logger():
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    log = logging.getLogger("langseg.test_progress")
    log.setLevel(logging.INFO)
    log.addHandler(Collect())
    log.propagate = False
    # 2 items, every 50 %: lines after item 1 (1 s: 1/s, ETA 1 s) and item 2 (2 s, ETA 0 s).
    assert list(track(["a", "b"], desc="j", logger=log, every_percent=50,
                      clock=FakeClock(0, 1, 2))) == ["a", "b"]
    assert records == ["j: 1/2 images (50%) | 1 images/s | elapsed 1.0s | ETA 1.0s",
                       "j: 2/2 images (100%) | 1 images/s | elapsed 2.0s | ETA 0.0s"]
    with pytest.raises(ValueError, match="not both"):
        track([1], desc="j", logger=log, stream=io.StringIO())

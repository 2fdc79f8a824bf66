"""Tests of langseg.progress: tqdm lines with rate and ETA, a bar on a TTY, job summaries."""

from __future__ import annotations

import io
import logging
import threading

import pytest
import tqdm.std

from langseg.progress import PROGRESS_RECORD, format_seconds, job_summary, track


class FakeClock:
    """A clock that stands still until the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(tqdm.std, "time", fake)   # tqdm reads its clock from tqdm.std.time
    return fake


def test_lines_at_start_every_30_s_and_at_end(clock):
    stream = io.StringIO()
    # 4 items of 10 s each, every_seconds=30: a line at the start, after item 3 (30 s since the
    # last line) and at the end. After 3 items in 30 s: 3/30 = 0.10 images/s, ETA 1 / 0.1 = 10 s.
    # At the end: 4 in 40 s = 0.10 images/s, ETA 0.
    out = []
    for item in track(range(4), desc="sd_sa 000", stream=stream, every_seconds=30):
        out.append(item)
        clock.now += 10
    assert out == [0, 1, 2, 3]
    assert stream.getvalue().splitlines() == [
        "sd_sa 000: 0/4 images (0%) | ? images/s | elapsed 00:00 | ETA ?",
        "sd_sa 000: 3/4 images (75%) | 0.10 images/s | elapsed 00:30 | ETA 00:10",
        "sd_sa 000: 4/4 images (100%) | 0.10 images/s | elapsed 00:40 | ETA 00:00",
    ]


def test_batches_count_their_images(clock):
    stream = io.StringIO()
    batches = [[0, 1], [2, 3], [4]]
    # every_seconds=1 and 5 s per batch: a line after every batch; 2 images in 5 s = 0.40/s,
    # ETA 3 / 0.4 = 7.5 s -> "00:07"
    for _ in track(batches, total=5, count=len, desc="b", stream=stream, every_seconds=1):
        clock.now += 5
    lines = stream.getvalue().splitlines()
    assert lines[1] == "b: 2/5 images (40%) | 0.40 images/s | elapsed 00:05 | ETA 00:07"
    assert lines[-1] == "b: 5/5 images (100%) | 0.33 images/s | elapsed 00:15 | ETA 00:00"
    assert len(lines) == 4


def test_unknown_total_has_no_eta(clock):
    stream = io.StringIO()
    for _ in track((c for c in "abc"), desc="g", stream=stream, every_seconds=1):
        clock.now += 2
    # 3 items in 6 s: 0.50/s
    assert stream.getvalue().splitlines()[-1] == "g: 3 images | 0.50 images/s | elapsed 00:06"
    assert "ETA" not in stream.getvalue()


def test_heartbeat_writes_while_one_item_runs_long():
    # The body of the first item blocks until a line beyond the initial one was written: only
    # the heartbeat thread can write it (no item completes meanwhile). Bounded wait, no timing.
    written = threading.Event()
    lines: list[str] = []

    class Stream(io.StringIO):
        def write(self, text):
            lines.append(text)
            if len(lines) >= 2:
                written.set()
            return len(text)

    for _ in track(range(2), desc="slow", stream=Stream(), every_seconds=0.05):
        assert written.wait(timeout=30), lines
        break
    assert lines[1].startswith("slow: 0/2 images (0%)"), lines


def test_track_is_lazy():
    consumed = []

    def gen():
        for i in range(3):
            consumed.append(i)
            yield i

    stream = io.StringIO()
    it = track(gen(), total=3, desc="l", stream=stream)
    assert consumed == [] and stream.getvalue() == ""
    assert next(it) == 0 and consumed == [0]


def test_terminal_gets_tqdm_bar():
    stream = FakeTerminal()
    assert list(track(range(3), desc="bar", stream=stream)) == [0, 1, 2]
    text = stream.getvalue()
    assert "bar" in text and "3/3" in text and "\r" in text  # tqdm redraws with carriage returns


@pytest.mark.parametrize("kwargs, match", [
    ({"total": -1}, "total must be >= 0"),
    ({"every_seconds": 0}, "every_seconds"),
    ({"logger": logging.getLogger("x"), "stream": io.StringIO()}, "not both"),
])
def test_track_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        track([1], desc="d", **kwargs)


def test_lines_go_to_the_logger_flagged_as_progress(clock):
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    log = logging.getLogger("langseg.test_progress")
    log.setLevel(logging.INFO)
    log.addHandler(Collect())
    log.propagate = False
    for _ in track(["a", "b"], desc="j", logger=log):
        clock.now += 1
    # 2 items in 2 s: 1.00/s
    assert [r.getMessage() for r in records] == [
        "j: 0/2 images (0%) | ? images/s | elapsed 00:00 | ETA ?",
        "j: 2/2 images (100%) | 1.00 images/s | elapsed 00:02 | ETA 00:00"]
    assert all(getattr(r, PROGRESS_RECORD) for r in records)


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


def test_job_logging_sends_progress_to_stderr_and_everything_to_the_log(tmp_path, capsys, clock):
    from langseg.pipeline.logs import job_logging

    log_path = tmp_path / "logs" / "extract_gem" / "demo" / "val" / "000.log"
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with job_logging(log_path, "extract_gem") as log:
            log.info("loading models")
            for _ in track(range(2), desc="gem 000", logger=log):
                clock.now += 3
    finally:
        root.handlers[:], root.level = saved
    err = capsys.readouterr().err.splitlines()
    # 2 images in 6 s: 0.33/s
    assert err == [("[extract_gem/demo/val/000] gem 000: 0/2 images (0%) | ? images/s | "
                    "elapsed 00:00 | ETA ?"),
                   ("[extract_gem/demo/val/000] gem 000: 2/2 images (100%) | 0.33 images/s | "
                    "elapsed 00:06 | ETA 00:00")]
    text = log_path.read_text()
    assert "loading models" in text and "gem 000: 2/2 images (100%)" in text

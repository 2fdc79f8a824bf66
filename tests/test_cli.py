"""Tests of the single-image command line (langseg.cli, python -m langseg)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langseg import cli, cli_output
from langseg.params import Method
from langseg.report import colours

CLASSES = "red block,green block,blue block"


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    """A 96 x 64 (W x H) RGB PNG with three vertical colour bands."""
    pixels = np.zeros((64, 96, 3), dtype=np.uint8)
    pixels[:, :32, 0] = 220
    pixels[:, 32:64, 1] = 200
    pixels[:, 64:, 2] = 210
    path = tmp_path / "bands.png"
    Image.fromarray(pixels).save(path)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["segment", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------------
# bad input: exit code 2, a message that says what to do, no traceback


def test_missing_image(capsys, tmp_path):
    code, _, err = run_cli(capsys, tmp_path / "nope.jpg", "--classes", "cat")
    assert code == 2
    assert "nope.jpg: no such file" in err and "Traceback" not in err


def test_corrupt_image(capsys, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    code, _, err = run_cli(capsys, bad, "--classes", "cat", "--preset", "tiny")
    assert code == 2
    assert "broken.png" in err and "Pillow can read" in err and "Traceback" not in err


def test_truncated_image(capsys, image_path, tmp_path):
    cut = tmp_path / "cut.png"
    cut.write_bytes(image_path.read_bytes()[:200])
    code, _, err = run_cli(capsys, cut, "--classes", "cat", "--preset", "tiny")
    assert code == 2 and "cut.png" in err


@pytest.mark.parametrize("classes, message", [
    ("", "gives no class names"),
    ("   ", "gives no class names"),
    ("cat,,dog", "class 2 is empty"),
    ("cat,dog,", "class 3 is empty"),
    ("cat,dog,Cat", "'Cat' more than once"),
])
def test_bad_class_list(capsys, image_path, classes, message):
    code, _, err = run_cli(capsys, image_path, "--classes", classes)
    assert code == 2
    assert message in err


def test_background_listed_twice(capsys, image_path):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat,background", "--background")
    assert code == 2
    assert "'background' more than once (--background adds it already)" in err


def test_class_file_empty_or_missing(capsys, image_path, tmp_path):
    empty = tmp_path / "classes.txt"
    empty.write_text("# only a comment\n\n   \n")
    code, _, err = run_cli(capsys, image_path, "--classes-file", empty)
    assert code == 2 and "gives no class names" in err
    code, _, err = run_cli(capsys, image_path, "--classes-file", tmp_path / "missing.txt")
    assert code == 2 and "missing.txt: no such file" in err


def test_class_file_parsing(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("# my classes\ncat\n\n  dog house  \n# sofa\ntv monitor\n")
    assert cli.read_class_file(path) == ("cat", "dog house", "tv monitor")
    path.write_text("person, body\n")
    with pytest.raises(cli.UsageError, match="line 1: 'person, body' has a comma"):
        cli.read_class_file(path)


def test_split_class_list():
    assert cli.split_class_list(" cat, dog ,sofa") == ("cat", "dog", "sofa")
    assert cli.split_class_list("") == ()


@pytest.mark.parametrize("method", ["gemw", "agggemw", "aggsd", "gtclust"])
def test_ground_truth_methods_are_refused(capsys, image_path, method):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--method", method)
    assert code == 2
    assert f"{method} needs ground-truth classes; use the workflow" in err


def test_unknown_method_lists_allowed(capsys, image_path):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--method", "sam")
    assert code == 2
    assert "unknown method 'sam'; choose one of: gem, agggem, diffsegclust, specclust, grabcut" \
        in err
    assert "gemw, agggemw, aggsd, gtclust need ground-truth classes" in err


def test_bad_output_paths(capsys, image_path, tmp_path):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--out",
                           tmp_path / "no_dir" / "o.png")
    assert code == 2 and "does not exist; create it first" in err
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--labels-out",
                           tmp_path / "labels.jpg")
    assert code == 2 and "must end in .png" in err


def test_argparse_errors_exit_2(capsys, image_path):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--preset", "huge")
    assert code == 2 and "invalid choice: 'huge'" in err
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--temperature", "0")
    assert code == 2 and "must be > 0" in err
    code, _, err = run_cli(capsys, image_path)  # neither --classes nor --classes-file
    assert code == 2 and "one of the arguments --classes --classes-file is required" in err


def test_debug_shows_the_exception(image_path):
    with pytest.raises(cli.UsageError, match="needs ground-truth classes"):
        cli.main(["segment", str(image_path), "--classes", "cat", "--method", "gemw", "--debug"])


def test_missing_real_weights(capsys, image_path, tmp_path):
    missing = tmp_path / "weights" / "sd15"
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--preset", "real",
                           "--device", "cpu", "--sd-path", missing,
                           "--clip-path", tmp_path / "b16_400m.pt")
    assert code == 2 and "Traceback" not in err
    # the message of models.check_weights: what is missing, where, how to get it
    assert f"SD 1.5 weights not found at {missing}" in err and "hf download" in err
    # both weights are missing: one message names both, with their flags
    assert f"MetaCLIP checkpoint not found at {tmp_path / 'b16_400m.pt'}" in err
    assert ("(on the command line models.sd_path is --sd-path, models.clip_path is "
            "--clip-path)") in err


def test_gem_needs_only_clip_weights(capsys, image_path, tmp_path):
    clip = tmp_path / "b16_400m.pt"
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--method", "gem",
                           "--device", "cpu", "--clip-path", clip)  # no --sd-path: not needed
    assert code == 2
    assert f"MetaCLIP checkpoint not found at {clip}" in err and "b16_400m.pt" in err
    assert "Stable Diffusion" not in err


def test_help_and_info_do_not_import_torch():
    code = ("import sys; from langseg import cli; "
            "assert [cli.main(a) for a in (['info'], ['--help'], ['segment', '--help'])] == "
            "[0, 0, 0]; assert 'torch' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "langseg", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "segment" in done.stdout


def test_request_label_names(image_path):
    parser = cli.build_parser()
    plain = cli.make_request(parser.parse_args(["segment", str(image_path), "--classes", "a,b"]))
    voc = cli.make_request(parser.parse_args(["segment", str(image_path), "--classes", "a,b",
                                              "--background"]))
    assert voc.label_names == ("background", "a", "b") and plain.label_names == ("a", "b")
    assert plain.method is Method.AGGGEM and plain.temperature is None


# ---------------------------------------------------------------------------------------------
# pure output helpers


def test_resize_nearest_hand_example():
    labels = np.array([[0, 1], [2, 3]])
    # height 3: rows floor(y * 2 / 3) = 0, 0, 1; width 4: cols floor(x * 2 / 4) = 0, 0, 1, 1
    expected = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3]], dtype=np.int16)
    out = cli_output.resize_nearest(labels, 3, 4)
    assert out.dtype == np.int16 and np.array_equal(out, expected)


def test_summary_line_hand_example():
    labels = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 1]])
    # 6 of 9 pixels are label 1 (66.7 %), 3 of 9 are label 0 (33.3 %), label 2 absent.
    line = cli_output.summary_line(Method.GEM, labels, ("background", "cat", "dog"), 4.24)
    assert line == "gem: cat 66.7%, background 33.3% (2 of 3 classes) in 4.2s"


def test_label_png_round_trip(tmp_path):
    labels = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.int16)
    palette = cli_output.label_palette(2, background=True)
    assert palette.shape == (3, 3) and palette[0].tolist() == [0, 0, 0]
    path = tmp_path / "labels.png"
    cli_output.write_label_png(labels, palette, path)
    with Image.open(path) as img:
        assert img.mode == "P"
        assert np.array_equal(np.asarray(img), labels)
        assert img.getpalette()[:9] == palette.reshape(-1).tolist()
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        cli_output.write_label_png(labels + 1, palette, path)


def test_legend_changes_only_its_panel():
    canvas = Image.new("RGB", (200, 120), (10, 20, 30))
    before = np.asarray(canvas).copy()
    left, top, right, bottom = cli_output.draw_legend(canvas, [("cat", (255, 0, 0)), ("dog", (0, 0, 255))])
    after = np.asarray(canvas)
    assert (left, top) == (0, 0) and 0 < right < 200 and 0 < bottom < 120
    inside = np.zeros(after.shape[:2], dtype=bool)
    inside[top:bottom, left:right] = True
    assert np.array_equal(after[~inside], before[~inside])
    assert (after[inside] == [255, 0, 0]).all(axis=-1).any()  # the cat swatch is there


# ---------------------------------------------------------------------------------------------
# the real command on the tiny preset (random weights: which classes win is arbitrary)


def check_outputs(image_path, overlay_path, labels_path, label_names):
    with Image.open(image_path) as img:
        size, pixels = img.size, np.asarray(img.convert("RGB"))
    with Image.open(labels_path) as lab:
        assert lab.mode == "P" and lab.size == size
        labels = np.asarray(lab)
    assert set(np.unique(labels)) <= set(range(len(label_names)))
    with Image.open(overlay_path) as ov:
        assert ov.size == size
        overlay = np.asarray(ov.convert("RGB"))
    palette = cli_output.label_palette(len(label_names) - ("background" in label_names),
                                background="background" in label_names)
    plain = colours.overlay(pixels, labels, palette, alpha=cli_output.OVERLAY_ALPHA)
    assert not np.array_equal(overlay, plain)  # the legend is drawn
    expected = Image.fromarray(plain)
    cli_output.draw_legend(expected, colours.legend_entries(labels, label_names, palette))
    assert np.array_equal(overlay, np.asarray(expected))  # and nothing else differs
    return labels


@pytest.mark.parametrize("method", ["agggem", "gem"])
def test_segment_tiny_in_process(capsys, image_path, tmp_path, method):
    overlay, labels = tmp_path / "overlay.png", tmp_path / "labels.png"
    code, out, err = run_cli(capsys, image_path, "--classes", CLASSES, "--preset", "tiny",
                             "--device", "cpu", "--method", method, "--out", overlay,
                             "--labels-out", labels)
    assert code == 0, err
    names = tuple(CLASSES.split(","))
    found = check_outputs(image_path, overlay, labels, names)
    line = out.strip().splitlines()[-1]
    assert line.startswith(f"{method}: ") and f"of {len(names)} classes) in " in line
    assert all(names[k] in line for k in np.unique(found))


def test_segment_tiny_subprocess_with_background(image_path, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("# three bands\nred block\n\ngreen block\nblue block\n")
    overlay, labels = tmp_path / "o.png", tmp_path / "l.png"
    done = subprocess.run(
        [sys.executable, "-m", "langseg", "segment", str(image_path), "--classes-file",
         str(classes), "--preset", "tiny", "--device", "cpu", "--background", "--out",
         str(overlay), "--labels-out", str(labels)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    check_outputs(image_path, overlay, labels, ("background", *CLASSES.split(",")))
    assert done.stdout.startswith("agggem: ")


def test_method_settings_follow_background(image_path):
    parser = cli.build_parser()
    base = ["segment", str(image_path), "--classes", "a,b"]
    plain = cli.method_settings(cli.make_request(parser.parse_args(base)))
    voc = cli.method_settings(cli.make_request(parser.parse_args(base + ["--background"])))
    hot = cli.method_settings(cli.make_request(parser.parse_args(base + ["--temperature", "2"])))
    assert (plain.temperature, plain.voc_background) == (0.01, False)
    assert (voc.temperature, voc.voc_background, voc.background_offset) == (0.1, True, 0.8)
    assert (hot.temperature, hot.voc_background) == (2.0, False)

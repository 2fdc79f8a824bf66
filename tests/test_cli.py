"""Tests of the command line (langseg.cli, python -m langseg) and its single-image code path."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langseg import cli, models
from langseg.cli import output, requests, run
from langseg.params import Method
from langseg.report import colours
from langseg.report.overlay import (OVERLAY_ALPHA, legend_font, legend_panel,
                                    overlay_with_legend)

CLASSES = "red block,green block,blue block"


@pytest.fixture(scope="module", autouse=True)
def loaded_once():
    """Load each tiny model once for the whole module: in-process runs reuse it (the command's
    code is unchanged; only ``models.load_clip``/``load_sd`` are memoised)."""
    cache: dict = {}
    patch = pytest.MonkeyPatch()
    for name in ("load_clip", "load_sd"):
        original = getattr(models, name)

        def memoised(preset, *, _original=original, _name=name, **kwargs):
            key = (_name, str(preset), str(kwargs.get("device")))
            if key not in cache:
                cache[key] = _original(preset, **kwargs)
            return cache[key]

        patch.setattr(models, name, memoised)
    yield cache
    patch.undo()


def write_bands(path: Path, width: int = 96, height: int = 64) -> Path:
    """An RGB PNG with three vertical colour bands."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 3, 0] = 220
    pixels[:, width // 3: 2 * width // 3, 1] = 200
    pixels[:, 2 * width // 3:, 2] = 210
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    return write_bands(tmp_path / "bands.png")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["segment", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *argv) -> str:
    """Run the command, expect exit 2 with one line on stderr and no traceback; return it."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("langseg segment: error: "), err
    return lines[0]


# ---------------------------------------------------------------------------------------------
# bad input: exit code 2, one line that says what to do, nothing written, no model loaded


def test_missing_image(capsys, tmp_path):
    assert "nope.jpg: no such file or folder" in refused(capsys, tmp_path / "nope.jpg",
                                                          "--classes", "cat")


def test_corrupt_image_refused_before_loading_models(capsys, tmp_path, loaded_once):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    before = dict(loaded_once)
    line = refused(capsys, bad, "--classes", "cat", "--preset", "tiny", "--device", "cpu")
    assert "broken.png" in line and "Pillow can read" in line
    assert loaded_once == before


def test_truncated_image(capsys, image_path, tmp_path):
    cut = tmp_path / "cut.png"
    cut.write_bytes(image_path.read_bytes()[:200])
    assert "cut.png" in refused(capsys, cut, "--classes", "cat", "--preset", "tiny",
                                "--device", "cpu")


@pytest.mark.parametrize("classes, message", [
    ("", "gives no class names"),
    ("   ", "gives no class names"),
    ("cat,,dog", "class 2 is empty"),
    ("cat,dog,", "class 3 is empty"),
    ("cat,dog,Cat", "'Cat' more than once"),
])
def test_bad_class_list(capsys, image_path, classes, message):
    assert message in refused(capsys, image_path, "--classes", classes)


def test_background_listed_twice(capsys, image_path):
    line = refused(capsys, image_path, "--classes", "cat,background", "--background")
    assert "'background' more than once (--background adds it already)" in line


def test_class_file_empty_or_missing(capsys, image_path, tmp_path):
    empty = tmp_path / "classes.txt"
    empty.write_text("# only a comment\n\n   \n")
    assert "no class names" in refused(capsys, image_path, "--classes-file", empty)
    assert "missing.txt: no such file" in refused(capsys, image_path, "--classes-file",
                                                  tmp_path / "missing.txt")


def test_class_file_synonyms_comments_and_bom(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_bytes("\ufeffcat\n# my classes\n\n  person, person in shirt \ntv monitor\n"
                     .encode())
    assert requests.read_class_file(path) == (("cat",), ("person", "person in shirt"),
                                               ("tv monitor",))


def test_class_file_bom_does_not_hide_a_repeat(capsys, image_path, tmp_path):
    path = tmp_path / "classes.txt"
    path.write_bytes("\ufeffcat\ndog\ncat\n".encode())  # a BOM once gave '\ufeffcat' + 'cat'
    line = refused(capsys, image_path, "--classes-file", path)
    assert "line 3: name 'cat' is already listed on line 1" in line


def test_class_file_not_utf8(capsys, image_path, tmp_path):
    path = tmp_path / "classes.txt"
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    assert "save it as UTF-8" in refused(capsys, image_path, "--classes-file", path)


def test_synonym_repeated_ignoring_case(capsys, image_path, tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("person, Man\ndog\nman\n")
    assert "'man' more than once" in refused(capsys, image_path, "--classes-file", path)


def test_split_class_list():
    assert requests.split_class_list(" cat, dog ,sofa") == (("cat",), ("dog",), ("sofa",))
    assert requests.split_class_list("") == ()


@pytest.mark.parametrize("method", ["gemw", "agggemw", "aggsd", "gtclust"])
def test_ground_truth_methods_are_refused(capsys, image_path, method):
    line = refused(capsys, image_path, "--classes", "cat", "--method", method)
    assert f"{method} needs ground-truth classes; use the workflow" in line


def test_unknown_method_lists_allowed(capsys, image_path):
    line = refused(capsys, image_path, "--classes", "cat", "--method", "sam")
    assert "unknown method 'sam'; choose one of: gem, agggem, diffsegclust, specclust, grabcut" \
        in line
    assert "gemw, agggemw, aggsd, gtclust need ground-truth classes" in line


def test_bad_output_paths(capsys, image_path, tmp_path):
    line = refused(capsys, image_path, "--classes", "cat", "--out", tmp_path / "no_dir" / "o.png")
    assert "does not exist; create it first" in line
    line = refused(capsys, image_path, "--classes", "cat", "--labels-out", tmp_path / "l.jpg")
    assert "must end in .png" in line
    line = refused(capsys, image_path, "--classes", "cat", "--out-dir", tmp_path / "absent")
    assert "--out-dir" in line and "create it first" in line


def test_output_onto_the_input_is_refused(capsys, image_path):
    before = image_path.read_bytes()
    for flag in ("--out", "--labels-out"):
        line = refused(capsys, image_path, "--classes", "cat", flag, image_path)
        assert f"{flag} {image_path} would overwrite the input image" in line
    # the same file through another spelling of its path
    other = image_path.parent / "." / image_path.name
    assert "would overwrite" in refused(capsys, image_path, "--classes", "cat", "--out", other)
    assert image_path.read_bytes() == before


def test_out_equal_to_labels_out_is_refused(capsys, image_path, tmp_path):
    same = tmp_path / "result.png"
    line = refused(capsys, image_path, "--classes", "cat", "--out", same, "--labels-out", same)
    assert "is also --out" in line and "give different names" in line
    assert not same.exists()


def test_out_naming_a_folder_is_refused(capsys, image_path, tmp_path):
    folder = tmp_path / "results.png"  # a folder, even with a .png name
    folder.mkdir()
    assert "is a folder" in refused(capsys, image_path, "--classes", "cat", "--out", folder)
    plain = tmp_path / "results"
    plain.mkdir()
    assert "must end in .png" in refused(capsys, image_path, "--classes", "cat", "--out", plain)


def test_several_images_need_out_dir(capsys, image_path, tmp_path):
    second = write_bands(tmp_path / "second.png")
    line = refused(capsys, image_path, second, "--classes", "cat", "--out", tmp_path / "o.png")
    assert "use --out-dir DIR for several" in line
    line = refused(capsys, image_path, image_path, "--classes", "cat")
    assert "is given twice" in line


def test_default_outputs_of_two_images_may_not_collide(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_bands(folder / "photo.png")
    Image.open(folder / "photo.png").convert("RGB").save(folder / "photo.jpg")
    line = refused(capsys, folder, "--classes", "cat")
    assert "photo.langseg.png" in line and "rename one of the images" in line


def test_folder_lists_images_without_earlier_outputs(tmp_path):
    for name in ("b.jpg", "a.PNG", "a.langseg.png", "a.labels.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in requests.list_images([tmp_path])] == ["a.PNG", "b.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(cli.UsageError, match="holds no image"):
        requests.list_images([empty])


def test_argparse_errors_exit_2(capsys, image_path):
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--preset", "huge")
    assert code == 2 and "invalid choice: 'huge'" in err
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--backend", "sam")
    assert code == 2 and "invalid choice: 'sam'" in err
    code, _, err = run_cli(capsys, image_path, "--classes", "cat", "--temperature", "0")
    assert code == 2 and "must be > 0" in err
    code, _, err = run_cli(capsys, image_path)  # neither --classes nor --classes-file
    assert code == 2 and "one of the arguments --classes --classes-file is required" in err


def test_debug_shows_the_exception(image_path):
    with pytest.raises(cli.UsageError, match="needs ground-truth classes"):
        cli.main(["segment", str(image_path), "--classes", "cat", "--method", "gemw", "--debug"])


def test_missing_real_weights(capsys, image_path, tmp_path):
    missing = tmp_path / "weights" / "sd15"
    line = refused(capsys, image_path, "--classes", "cat", "--preset", "real", "--device", "cpu",
                   "--sd-path", missing, "--clip-path", tmp_path / "b16_400m.pt")
    assert f"SD 1.5 weights not found at {missing}" in line  # models.check_weights' message
    assert "hf download" in line
    # both weights are missing: one message names both, with their flags
    assert f"MetaCLIP checkpoint not found at {tmp_path / 'b16_400m.pt'}" in line
    assert ("(on the command line models.sd_path is --sd-path, models.clip_path is "
            "--clip-path)") in line


def test_gem_needs_only_clip_weights(capsys, image_path, tmp_path):
    clip = tmp_path / "b16_400m.pt"
    line = refused(capsys, image_path, "--classes", "cat", "--method", "gem", "--device", "cpu",
                   "--clip-path", clip)  # no --sd-path: not needed
    assert f"MetaCLIP checkpoint not found at {clip}" in line and "Stable Diffusion" not in line


def test_help_version_and_info_do_not_import_torch():
    code = ("import sys; from langseg import cli; "
            "assert [cli.main(a) for a in (['info'], ['--help'], ['segment', '--help'], "
            "['--version'])] == [0, 0, 0, 0]; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "langseg", "--version"], capture_output=True,
                          text=True, timeout=60)
    from langseg import __version__

    assert done.returncode == 0 and done.stdout.strip() == f"langseg {__version__}"


def test_temperature_help_follows_method_settings():
    from langseg.methods import MethodSettings
    from langseg.params import DatasetKind

    text = cli.build_parser()._subparsers._group_actions[0].choices["segment"].format_help()
    plain = MethodSettings.for_dataset(DatasetKind.CONTEXT).temperature
    voc = MethodSettings.for_dataset(DatasetKind.VOC2012).temperature
    assert f"default: {plain}, with --background {voc}" in " ".join(text.split())


def parse(*argv):
    return requests.make_request(cli.build_parser().parse_args(["segment", *map(str, argv)]))


def test_request_label_names_and_default_outputs(image_path):
    plain = parse(image_path, "--classes", "a,b")
    voc = parse(image_path, "--classes", "a,b", "--background")
    assert voc.label_names == ("background", "a", "b") and plain.label_names == ("a", "b")
    assert plain.method is Method.AGGGEM and plain.temperature is None
    assert plain.backend == "gem"
    (job,) = plain.jobs
    assert job.overlay == image_path.parent / "bands.langseg.png"
    assert job.labels == image_path.parent / "bands.labels.png"
    only_labels = parse(image_path, "--classes", "a", "--labels-out", image_path.parent / "l.png")
    assert only_labels.jobs[0].overlay is None


def test_method_settings_follow_background(image_path):
    plain = run.method_settings(parse(image_path, "--classes", "a,b"))
    voc = run.method_settings(parse(image_path, "--classes", "a,b", "--background"))
    hot = run.method_settings(parse(image_path, "--classes", "a,b", "--temperature", "2"))
    assert (plain.temperature, plain.voc_background) == (0.01, False)
    assert (voc.temperature, voc.voc_background, voc.background_offset) == (0.1, True, 0.8)
    assert (hot.temperature, hot.voc_background) == (2.0, False)


# ---------------------------------------------------------------------------------------------
# pure output helpers


def test_resize_nearest_hand_example():
    labels = np.array([[0, 1], [2, 3]])
    # height 3: rows floor(y * 2 / 3) = 0, 0, 1; width 4: cols floor(x * 2 / 4) = 0, 0, 1, 1
    expected = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3]], dtype=np.int16)
    out = output.resize_nearest(labels, 3, 4)
    assert out.dtype == np.int16 and np.array_equal(out, expected)


def test_summary_line_hand_example():
    labels = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 1]])
    # 6 of 9 pixels are label 1 (66.7 %), 3 of 9 are label 0 (33.3 %), label 2 absent.
    line = output.summary_line(Method.GEM, labels, ("background", "cat", "dog"))
    assert line == "gem: cat 66.7%, background 33.3% (2 of 3 classes)"


def test_label_png_round_trip(tmp_path):
    labels = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.int16)
    palette = output.label_palette(2, background=True)
    assert palette.shape == (3, 3) and palette[0].tolist() == [0, 0, 0]
    path = tmp_path / "labels.png"
    output.write_label_png(labels, palette, path)
    with Image.open(path) as img:
        assert img.mode == "P"
        assert np.array_equal(np.asarray(img), labels)
        assert img.getpalette()[:9] == palette.reshape(-1).tolist()
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        output.write_label_png(labels + 1, palette, path)


def test_legend_beside_a_small_image_shows_all_six_classes():
    """#11: six classes on a small image once covered it and lost the sixth."""
    image = np.full((40, 60, 3), 90, dtype=np.uint8)
    labels = np.repeat((np.arange(60) * 6 // 60)[None, :], 40, axis=0)
    names = ["cat", "person", "école", "Σκύλος", "собака", "sofa"]
    palette = output.label_palette(6, background=False)
    canvas = overlay_with_legend(image, labels, names, palette)
    blended = colours.overlay(image, labels, palette, alpha=OVERLAY_ALPHA)
    assert canvas.shape[1] > 60 and canvas.shape[0] >= 40
    assert np.array_equal(canvas[:40, :60], blended)  # the photo is untouched by the legend
    legend = canvas[:, 60:]
    for colour in palette:  # every class's swatch is drawn in full
        assert (legend == colour).all(axis=-1).sum() >= 14 * 14 - 4 * 14
    assert canvas.shape[0] >= 6 * 14  # six rows of at least 14 px text


def test_legend_renders_non_ascii_glyphs():
    """#11: non-ASCII names rendered as boxes. A font without a glyph draws the same box
    ("tofu") for every such letter, as for the unassigned code point U+FFFF."""
    from PIL import ImageDraw

    font = legend_font(20)

    def drawn(text):
        canvas = Image.new("L", (40, 30), 255)
        ImageDraw.Draw(canvas).text((2, 2), text, font=font, fill=0)
        return np.asarray(canvas)

    tofu = drawn("\uffff")
    shapes = [drawn(letter) for letter in ("Σ", "Ж", "é", "ß")]
    for k, shape in enumerate(shapes):
        assert not np.array_equal(shape, tofu)
        assert all(not np.array_equal(shape, other) for other in shapes[k + 1:])
    assert legend_panel([("Σκύλος", (0, 0, 0))], 20).size[1] >= 20


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_name_the_image_and_eta(capsys):
    stream, now = io.StringIO(), [100.0]
    progress = run.ImageProgress(3, stream=stream, clock=lambda: now[0])
    progress.starting(Path("a.jpg"))
    now[0] = 110.0  # the first image took 10 s: 2 left -> ETA 20 s
    progress.finished("a.jpg: result")
    progress.starting(Path("b.jpg"))
    progress.close()
    assert stream.getvalue().splitlines() == ["langseg: [1/3] a.jpg, ETA ?",
                                              "langseg: [2/3] b.jpg, ETA 20.0s"]
    assert capsys.readouterr().out == "a.jpg: result\n"


def test_progress_bar_on_a_terminal(capsys):
    stream = FakeTerminal()
    progress = run.ImageProgress(2, stream=stream)
    progress.starting(Path("photos/a.jpg"))
    progress.finished("a.jpg: result")
    progress.starting(Path("photos/b.jpg"))
    progress.step("Stable Diffusion self-attention")
    progress.close()
    text = stream.getvalue()
    assert "1/2" in text and "b.jpg: Stable Diffusion self-attention" in text
    assert "langseg: [" not in text
    assert "a.jpg: result" in capsys.readouterr().out


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
        overlay = np.asarray(ov.convert("RGB"))
    background = "background" in label_names
    palette = output.label_palette(len(label_names) - background, background=background)
    expected = overlay_with_legend(pixels, labels, label_names, palette)
    assert np.array_equal(overlay, expected)
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
    assert line.startswith(f"{image_path}: {method}: ") and f"of {len(names)} classes) in " in line
    assert all(names[k] in line for k in np.unique(found))
    assert "RANDOM weights" in err and "meaningless" in err


def test_folder_default_outputs_next_to_each_image(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        write_bands(folder / name)
    code, out, err = run_cli(capsys, folder, "--classes", "red,green", "--preset", "tiny",
                             "--device", "cpu", "--method", "gem")
    assert code == 0, err
    for stem in ("a", "b"):
        check_outputs(folder / f"{stem}.png", folder / f"{stem}.langseg.png",
                      folder / f"{stem}.labels.png", ("red", "green"))
    assert len(out.strip().splitlines()) == 2
    assert err.count("loading tiny CLIP") == 1  # the models load once for both images
    assert f"[1/2] {folder / 'a.png'}, ETA ?" in err and f"[2/2] {folder / 'b.png'}, ETA " in err
    # a second run over the folder does not take the first run's outputs for images
    code, out, _ = run_cli(capsys, folder, "--classes", "red,green", "--preset", "tiny",
                           "--device", "cpu", "--method", "gem")
    assert code == 0 and len(out.strip().splitlines()) == 2


def test_out_dir(capsys, image_path, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    code, _, err = run_cli(capsys, image_path, "--classes", "red,green", "--preset", "tiny",
                           "--device", "cpu", "--method", "gem", "--out-dir", target)
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == ["bands.labels.png", "bands.langseg.png"]


def test_write_error_is_one_line(capsys, image_path, tmp_path, monkeypatch):
    def disk_full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_label_png", disk_full)
    code, _, err = run_cli(capsys, image_path, "--classes", "red,green", "--preset", "tiny",
                           "--device", "cpu", "--method", "gem", "--out-dir", tmp_path)
    line = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err and line.startswith("langseg segment: error: ")
    assert f"cannot write the outputs of {image_path}" in line and "No space left" in line


def test_synonyms_score_the_best_name(capsys, image_path, tmp_path):
    """A class with synonyms gets the max over its names after the softmax: with one class
    ``a, b`` against ``c``, the labels equal those of ``a, b, c`` with ``b`` mapped to ``a``."""
    path = tmp_path / "classes.txt"
    path.write_text("red block, green block\nblue block\n")
    grouped, flat = tmp_path / "grouped.png", tmp_path / "flat.png"
    for classes, labels in ((["--classes-file", path], grouped), (["--classes", CLASSES], flat)):
        code, _, err = run_cli(capsys, image_path, *classes, "--preset", "tiny", "--device",
                               "cpu", "--method", "gem", "--labels-out", labels)
        assert code == 0, err
    with Image.open(grouped) as g, Image.open(flat) as f:
        grouped_labels, flat_labels = np.asarray(g), np.asarray(f)
    assert np.array_equal(grouped_labels, np.array([0, 0, 1])[flat_labels])


def test_segment_tiny_subprocess_with_background(image_path, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("# three bands\nred block\n\ngreen block\nblue block\n")
    overlay, labels = tmp_path / "o.png", tmp_path / "l.png"
    done = subprocess.run(
        [sys.executable, "-m", "langseg", "segment", str(image_path), "--classes-file",
         str(classes), "--preset", "tiny", "--device", "cpu", "--background", "--method", "gem",
         "--out",
         str(overlay), "--labels-out", str(labels)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    check_outputs(image_path, overlay, labels, ("background", *CLASSES.split(",")))
    assert done.stdout.startswith(f"{image_path}: gem: ")
    assert "RANDOM weights" in done.stderr and f"[1/1] {image_path}" in done.stderr


# ---------------------------------------------------------------------------------------------
# one code path with the workflow (#13)


@pytest.fixture(scope="module")
def demo_workflow(tmp_path_factory):
    """The workflow's stage functions on the demo's first val shard (tiny preset, CPU): the
    index, the ground truth, the gem and sd_sa stores and the gem method's predictions."""
    from langseg.config import validate_config
    from langseg.data import write_demo_dataset
    from langseg.params import Device
    from langseg.pipeline.extract import RuntimeOptions, extract_shard
    from langseg.pipeline.segment import segment_shard
    from langseg.pipeline.stages import index_split, prepare_gt_shard
    from langseg.workflow_plan import WorkflowPlan

    root = tmp_path_factory.mktemp("demo")
    write_demo_dataset(root)
    config = {"datasets": {"demo": {"kind": "voc2012", "root": str(root / "VOC2012"),
                                    "demo": True, "splits": ["val"], "max_images": 1}},
              "models": {"preset": "tiny", "device": "cpu"}, "shard_size": 1}
    validate_config(config)
    plan = WorkflowPlan.from_config(config)
    log = logging.getLogger("test_cli.workflow")
    index, gt = root / "index.tsv", root / "gt.npz"
    index_split(plan.index_params("demo", "val"), index)
    prepare_gt_shard(index, "000", plan.gt_params("demo"), gt, log)
    runtime = RuntimeOptions(device=Device.CPU, batch_size=1, sa_codec="fp16-zstd", threads=2)
    stores = {}
    for source in ("gem", "sd_sa"):
        stores[source] = root / f"{source}.zarr"
        extract_shard(params=plan.extraction_params("demo", source), index_path=index,
                      gt_path=gt, store_path=stores[source], runtime=runtime, log=log)
    preds = root / "gem.npz"
    segment_shard(params=plan.segment_params("demo", "gem"), caches={"gem": str(stores["gem"])},
                  gt_path=gt, out_path=preds, log=log)
    from langseg.data import read_index

    (sample, _), = read_index(index)
    with np.load(preds) as data:
        labels = data["labels"][0]
    return {"plan": plan, "image": Path(sample.image_path), "stores": stores, "labels": labels}


def demo_class_file(tmp_path) -> Path:
    from langseg.data import get_dataset_info
    from langseg.params import DatasetKind

    path = tmp_path / "voc.txt"
    path.write_text("\n".join(get_dataset_info(DatasetKind.VOC2012).prompt_class_names) + "\n")
    return path


def test_same_labels_as_the_workflow(capsys, tmp_path, demo_workflow):
    """The command on a demo image with VOC's classes and --background (VOC's settings) gives
    the workflow's gem labels, resized to the image (nearest)."""
    labels_png = tmp_path / "labels.png"
    code, _, err = run_cli(capsys, demo_workflow["image"], "--classes-file",
                           demo_class_file(tmp_path), "--background", "--method", "gem",
                           "--preset", "tiny", "--device", "cpu", "--labels-out", labels_png)
    assert code == 0, err
    with Image.open(labels_png) as img:
        ours = np.asarray(img)
    expected = output.resize_nearest(demo_workflow["labels"], *ours.shape)
    assert np.array_equal(ours, expected)
    assert len(np.unique(expected)) > 1  # a real comparison, not two constant maps


def test_same_self_attention_as_the_workflow(tmp_path, demo_workflow):
    """The self-attention the command feeds AggGEM equals the workflow's sd_sa cache (stored
    with the lossless-up-to-float16 codec)."""
    from langseg.cache import open_store
    from langseg.data import load_image

    request = parse(demo_workflow["image"], "--classes-file", demo_class_file(tmp_path),
                    "--background", "--preset", "tiny", "--device", "cpu")
    segmenter = run.make_segmenter(request, "cpu")
    inputs = segmenter.inputs(load_image(demo_workflow["image"], exif_transpose=True))
    params = demo_workflow["plan"].extraction_params("demo", "sd_sa")
    stored = open_store(demo_workflow["stores"]["sd_sa"], expected={"extraction": params})
    assert np.allclose(inputs.self_attention, stored.read_sa(0), rtol=2e-3, atol=1e-7)

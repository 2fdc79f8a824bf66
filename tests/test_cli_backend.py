"""``langseg segment --backend``: the single-image command with another CLIP backend."""

import numpy as np
from PIL import Image

from langseg import cli


def test_segment_with_another_backend(capsys, tmp_path):
    pixels = np.zeros((64, 96, 3), dtype=np.uint8)
    pixels[:, :48, 0] = 220
    path = tmp_path / "two.png"
    Image.fromarray(pixels).save(path)
    labels = tmp_path / "labels.png"
    code = cli.main(["segment", str(path), "--classes", "red,black", "--preset", "tiny",
                     "--device", "cpu", "--method", "gem", "--backend", "naclip",
                     "--labels-out", str(labels)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert np.asarray(Image.open(labels)).shape == (64, 96)


def test_unknown_backend_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    code = cli.main(["segment", str(path), "--classes", "a", "--backend", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "nope" in err and "naclip" in err


def test_aggsd_zs_is_not_a_single_image_method():
    from langseg.cli.parser import SINGLE_IMAGE_METHODS

    assert "aggsd-zs" not in [m.value for m in SINGLE_IMAGE_METHODS]

"""langseg.data.images: every pixel mode -> RGB, EXIF ignored by default, corrupt files."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from langseg.data import CorruptFileError, load_image
from langseg.data.images import image_size, read_mask


def _pixels(img):
    return np.asarray(img).tolist()


def test_grayscale_is_replicated(tmp_path):
    Image.frombytes("L", (2, 1), bytes([0, 200])).save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.mode == "RGB" and _pixels(img) == [[[0, 0, 0], [200, 200, 200]]]


def test_palette_is_expanded_through_its_palette(tmp_path):
    img = Image.frombytes("P", (2, 1), bytes([0, 1]))
    img.putpalette([10, 20, 30, 40, 50, 60])
    img.save(tmp_path / "p.png")
    assert _pixels(load_image(tmp_path / "p.png")) == [[[10, 20, 30], [40, 50, 60]]]


def test_rgba_drops_alpha_without_compositing(tmp_path):
    rgba = Image.frombytes("RGBA", (2, 1), bytes([10, 20, 30, 0, 40, 50, 60, 128]))
    rgba.save(tmp_path / "a.png")
    assert _pixels(load_image(tmp_path / "a.png")) == [[[10, 20, 30], [40, 50, 60]]]


def test_cmyk_tiff_and_jpeg(tmp_path):
    # lossless TIFF: no ink -> white, full cyan -> (0, 255, 255)
    Image.frombytes("CMYK", (2, 1), bytes([0, 0, 0, 0, 255, 0, 0, 0])).save(tmp_path / "c.tif")
    assert _pixels(load_image(tmp_path / "c.tif")) == [[[255, 255, 255], [0, 255, 255]]]
    Image.new("CMYK", (16, 8), (0, 0, 0, 0)).save(tmp_path / "c.jpg", quality=95)
    img = load_image(tmp_path / "c.jpg")
    assert img.mode == "RGB" and img.size == (16, 8)


def test_sixteen_bit_is_scaled_by_257(tmp_path):
    # round(v / 257): 0 -> 0, 2570 -> 10, 65535 -> 255, 128 -> round(0.498) = 0, 129 -> 1
    values = np.array([[0, 2570, 65535, 128, 129]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    with Image.open(tmp_path / "d.png") as raw:
        assert raw.mode in ("I;16", "I")
    img = load_image(tmp_path / "d.png")
    assert img.mode == "RGB" and np.asarray(img)[0, :, 0].tolist() == [0, 10, 255, 0, 1]
    assert (np.asarray(img)[..., 0] == np.asarray(img)[..., 2]).all()


def test_exif_orientation_ignored_unless_asked(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.new("RGB", (40, 20), (200, 10, 10)).save(tmp_path / "e.jpg", exif=exif)
    assert load_image(tmp_path / "e.jpg").size == (40, 20)  # stored grid, aligned with masks
    assert load_image(tmp_path / "e.jpg", exif_transpose=True).size == (20, 40)


def _jpeg_bytes() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_truncated_and_garbage_files_raise_corrupt_file_error(tmp_path):
    data = _jpeg_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError) as info:
        load_image(tmp_path / "t.jpg")
    assert info.value.path == tmp_path / "t.jpg" and "t.jpg" in str(info.value)
    assert isinstance(info.value, ValueError)
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(CorruptFileError, match=r"x\.png"):
        load_image(tmp_path / "x.png")
    with pytest.raises(CorruptFileError, match=r"x\.png"):
        image_size(tmp_path / "x.png")
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 3).save(buffer, "PNG")
    (tmp_path / "m.png").write_bytes(buffer.getvalue()[:-30])
    with pytest.raises(CorruptFileError, match=r"m\.png"):
        read_mask(tmp_path / "m.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_refuses_to_run_with_load_truncated_images(tmp_path, monkeypatch):
    (tmp_path / "ok.jpg").write_bytes(_jpeg_bytes())
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        load_image(tmp_path / "ok.jpg")


def test_missing_file_and_float_mode(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jpg"):
        load_image(tmp_path / "nope.jpg")
    Image.fromarray(np.zeros((2, 2), dtype=np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ValueError, match="unsupported image mode 'F'"):
        load_image(tmp_path / "f.tif")

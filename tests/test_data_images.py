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


def _textured_jpeg(progressive: bool = False) -> bytes:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:256, 0:256]
    pixels = np.stack([(xx + yy) % 256, (3 * xx) % 256, rng.integers(0, 256, (256, 256))], -1)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="JPEG", quality=90,
                                                  progressive=progressive)
    return buf.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_sound_jpegs_pass_the_structure_check(tmp_path, progressive):
    path = tmp_path / "ok.jpg"
    path.write_bytes(_textured_jpeg(progressive))
    assert load_image(path).size == (256, 256)


def test_garbage_written_inside_a_jpeg_is_detected_where_pillow_decodes_it(tmp_path):
    data = _textured_jpeg()
    rng = np.random.default_rng(0)
    silent, detected = 0, 0
    for attempt in range(300):
        damaged = bytearray(data)
        offset = int(rng.integers(1000, len(data) - 3000))
        damaged[offset:offset + 2048] = rng.integers(0, 256, 2048, dtype=np.uint8).tobytes()
        try:  # Pillow alone
            Image.open(io.BytesIO(bytes(damaged))).load()
        except OSError:
            continue
        silent += 1
        path = tmp_path / f"bad{attempt}.jpg"
        path.write_bytes(bytes(damaged))
        with pytest.raises(CorruptFileError) as info:
            load_image(path)
        assert str(path) in str(info.value) and "corrupt JPEG data" in str(info.value)
        detected += 1
    assert silent >= 3 and detected == silent  # every file Pillow decodes silently is refused


def test_jpeg_structure_check_names_the_problem():
    from langseg.data.images import check_jpeg_structure

    data = _textured_jpeg()
    assert check_jpeg_structure(data) is None
    assert "no JPEG start-of-image" in check_jpeg_structure(b"\x89PNG....")
    assert "without an end-of-image" in check_jpeg_structure(data[:-2])
    sos = data.index(b"\xff\xda")
    length = int.from_bytes(data[sos + 2:sos + 4], "big")
    bad = bytearray(data)
    bad[sos + 2 + length + 10:sos + 2 + length + 12] = b"\xff\x37"
    assert "invalid marker 0xFF37 in the compressed data" in check_jpeg_structure(bytes(bad))

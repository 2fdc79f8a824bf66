"""langseg.data readers: the four layouts built by hand in tmp_path, exact labels, bad input."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langseg.data import list_samples, read_label
from langseg.data.labels import resize_labels
from langseg.data.palettes import voc_palette


def load_label(sample, kind, *, size=320):
    """The label map of ``sample`` nearest-resized to ``size`` (what prepare_ground_truth does)."""
    return resize_labels(read_label(sample.mask_path, kind), size)


def _mask_png(path: Path, values, *, palette: bool = True) -> None:
    """Write ``values`` (H, W) as an 8-bit palette ("P") or grayscale ("L") PNG."""
    values = np.asarray(values, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "P" if palette else "L"
    img = Image.frombytes(mode, (values.shape[1], values.shape[0]), values.tobytes())
    if palette:
        img.putpalette(voc_palette(256).tobytes())
    img.save(path)


def _image(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (90, 120, 30)).save(path)


def _split_file(path: Path, ids) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(ids) + "\n")


VOC_MASK = [[0, 1, 20, 255], [15, 15, 0, 0], [255, 255, 3, 3], [7, 7, 7, 0]]


def _voc(tmp_path: Path, ids=("c", "a", "b"), mask=VOC_MASK) -> Path:
    root = tmp_path / "VOC2012"
    for i in ids:
        _image(root / "JPEGImages" / f"{i}.jpg", 4, 4)
        _mask_png(root / "SegmentationClass" / f"{i}.png", mask)
    _split_file(root / "ImageSets" / "Segmentation" / "val.txt", ids)
    return root


def test_voc_lists_in_split_file_order_and_maps_labels(tmp_path):
    root = _voc(tmp_path)
    samples = list_samples("voc2012", root, "val")
    assert [s.image_id for s in samples] == ["c", "a", "b"]
    assert samples[1].image_path == root / "JPEGImages" / "a.jpg"
    assert samples[1].mask_path == root / "SegmentationClass" / "a.png"
    label = load_label(samples[0], "voc2012", size=4)
    # 0..20 kept, 255 -> -1 (same size: nearest resize is the identity)
    expected = [[0, 1, 20, -1], [15, 15, 0, 0], [-1, -1, 3, 3], [7, 7, 7, 0]]
    assert label.dtype == np.int16 and label.tolist() == expected


def test_resize_is_pil_nearest_from_the_original_mask(tmp_path):
    samples = list_samples("voc2012", _voc(tmp_path), "val")
    # 4 -> 2 with PIL NEAREST samples source index floor((i + 0.5) * 2) = 1, 3 on both axes:
    # rows 1, 3 and columns 1, 3 of VOC_MASK -> [[15, 0], [7, 0]]
    assert load_label(samples[0], "voc2012", size=2).tolist() == [[15, 0], [7, 0]]
    assert load_label(samples[0], "voc2012").shape == (320, 320)


def test_max_images_takes_the_first_in_file_order(tmp_path):
    root = _voc(tmp_path)
    assert [s.image_id for s in list_samples("voc2012", root, "val", max_images=2)] == ["c", "a"]
    (root / "JPEGImages" / "b.jpg").unlink()  # beyond max_images: not needed, not checked
    assert len(list_samples("voc2012", root, "val", max_images=2)) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_images"):
            list_samples("voc2012", root, "val", max_images=bad)


def test_voc_value_outside_rule_names_file_and_values(tmp_path):
    root = _voc(tmp_path, mask=[[0, 21], [254, 255]])
    sample = list_samples("voc2012", root, "val")[0]
    with pytest.raises(ValueError, match=r"c\.png.*\[21, 254\].*0\.\.20 and 255"):
        load_label(sample, "voc2012", size=2)


def test_context_labels_shift_by_one(tmp_path):
    root = tmp_path / "VOC2010"
    _image(root / "JPEGImages" / "2008_000002.jpg", 3, 2)
    _mask_png(root / "SegmentationClassContext" / "2008_000002.png", [[0, 1, 59], [30, 0, 2]],
              palette=False)
    _split_file(root / "ImageSets" / "SegmentationContext" / "train.txt", ["2008_000002"])
    sample = list_samples("context", root, "train")[0]
    # value - 1; background 0 -> -1
    assert read_label(sample.mask_path, "context").tolist() == [[-1, 0, 58], [29, -1, 1]]
    _mask_png(sample.mask_path, [[0, 60, 1], [1, 1, 1]], palette=False)
    with pytest.raises(ValueError, match=r"\[60\]"):
        read_label(sample.mask_path, "context")


def _coco(tmp_path: Path, *, curated=True, mask=((0, 10, 12), (181, 255, 26))) -> Path:
    root = tmp_path / "cocostuff"
    for i in ("000000000285", "000000000139"):
        _image(root / "images" / "val2017" / f"{i}.jpg", 3, 2)
        _mask_png(root / "annotations" / "val2017" / f"{i}.png", mask, palette=False)
    if curated:
        _split_file(root / "curated" / "val2017" / "Coco164kFull_Stuff_Coarse.txt",
                    ["000000000285", "000000000139"])
    return root


def test_coco_labels_182_to_171(tmp_path):
    sample = list_samples("cocostuff", _coco(tmp_path), "val2017")[0]
    assert sample.image_id == "000000000285"
    # 0 -> 0, 10 -> 10, 12 -> 11 (11 unused), 181 -> 170, 255 -> -1, 26 -> 24 (11, 25 unused)
    assert read_label(sample.mask_path, "cocostuff").tolist() == [[0, 10, 11], [170, -1, 24]]


@pytest.mark.parametrize("bad", [11, 90, 182, 254])
def test_coco_unused_or_out_of_range_ids_fail(tmp_path, bad):
    sample = list_samples("cocostuff", _coco(tmp_path, mask=((0, bad, 1),)), "val2017")[0]
    with pytest.raises(ValueError, match=rf"\[{bad}\]"):
        read_label(sample.mask_path, "cocostuff")


def test_coco_missing_curated_list_points_to_full_split(tmp_path):
    root = _coco(tmp_path, curated=False)
    expected = r"(?s)Coco164kFull_Stuff_Coarse\.txt.*set split: val2017-full"
    with pytest.raises(FileNotFoundError, match=expected):
        list_samples("cocostuff", root, "val2017")
    samples = list_samples("cocostuff", root, "val2017-full")
    assert [s.image_id for s in samples] == ["000000000139", "000000000285"]  # sorted names


def _cityscapes(tmp_path: Path) -> Path:
    root = tmp_path / "cityscapes"
    for city, frame in (("munster", "000001"), ("aachen", "000002"), ("aachen", "000000")):
        stem = f"{city}_{frame}_000019"
        _image(root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png", 3, 2)
        _mask_png(root / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png",
                  [[0, 6, 7], [33, 5, 1]], palette=False)
    return root


def test_cityscapes_lists_by_city_then_name_and_maps_label_ids(tmp_path):
    samples = list_samples("cityscapes", _cityscapes(tmp_path), "val")
    assert [s.image_id for s in samples] == [
        "aachen_000000_000019", "aachen_000002_000019", "munster_000001_000019"]
    assert samples[0].mask_path.name == "aachen_000000_000019_gtFine_labelIds.png"
    # labelId - 7 for 7..33; 0..6 -> -1
    assert read_label(samples[0].mask_path, "cityscapes").tolist() == [[-1, -1, 0], [26, -1, -1]]


@pytest.mark.parametrize("values", [[[7, 34]], [[7, 255]], [[7 * 257, 33 * 257]],
                                    [[26000, 26001]]])
def test_cityscapes_refuses_values_that_are_no_label_ids(tmp_path, values):
    mask = tmp_path / "x_gtFine_labelIds.png"
    array = np.asarray(values)
    if array.max() > 255:  # a 16-bit PNG
        Image.fromarray(array.astype(np.uint16)).save(mask)
    else:
        _mask_png(mask, values, palette=False)
    with pytest.raises(ValueError, match=r"Cityscapes mask .*x_gtFine_labelIds\.png: unexpected "
                                         r"label values .*labelIds 0\.\.33"):
        read_label(mask, "cityscapes")


def test_missing_root_names_path_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)nowhere.*expected layout.*JPEGImages"):
        list_samples("voc2012", tmp_path / "nowhere", "val")
    with pytest.raises(FileNotFoundError, match=r"(?s)nowhere.*leftImg8bit/\{train,val\}"):
        list_samples("cityscapes", tmp_path / "nowhere", "val")


def test_missing_split_file_names_path_and_layout(tmp_path):
    root = _voc(tmp_path)
    with pytest.raises(FileNotFoundError,
                       match=r"(?s)Segmentation/train\.txt.*expected layout.*SegmentationClass"):
        list_samples("voc2012", root, "train")
    with pytest.raises(ValueError, match="allowed: train, val, trainval"):
        list_samples("voc2012", root, "test")


def test_missing_image_and_mask_are_listed_with_count(tmp_path):
    root = _voc(tmp_path, ids=[f"i{k}" for k in range(7)])
    for k in range(4):
        (root / "JPEGImages" / f"i{k}.jpg").unlink()
    (root / "SegmentationClass" / "i6.png").unlink()
    with pytest.raises(FileNotFoundError) as info:
        list_samples("voc2012", root, "val")
    message = str(info.value)
    assert message.startswith("5 image/mask file(s)")
    assert "i0.jpg" in message and "i6.png" in message and "expected layout" in message
    with pytest.raises(FileNotFoundError, match=r"i3\.jpg"):
        list_samples("voc2012", root, "val", max_images=4)


def test_empty_or_repeating_split_file_fails(tmp_path):
    root = _voc(tmp_path, ids=["a", "b"])
    _split_file(root / "ImageSets" / "Segmentation" / "val.txt", ["a", "b", "a"])
    with pytest.raises(ValueError, match="repeats image ids: a"):
        list_samples("voc2012", root, "val")
    _split_file(root / "ImageSets" / "Segmentation" / "val.txt", [])
    with pytest.raises(ValueError, match="lists no image ids"):
        list_samples("voc2012", root, "val")


def test_rgb_mask_is_refused(tmp_path):
    root = _voc(tmp_path, ids=["a"])
    Image.new("RGB", (4, 4)).save(root / "SegmentationClass" / "a.png")
    with pytest.raises(ValueError, match=r"a\.png.*mode 'RGB'"):
        load_label(list_samples("voc2012", root, "val")[0], "voc2012")


def test_split_file_with_utf8_bom_lists_the_first_id_plainly(tmp_path):
    root = _voc(tmp_path, ids=("a", "b"))
    split = root / "ImageSets" / "Segmentation" / "val.txt"
    split.write_bytes(b"\xef\xbb\xbfa\r\nb\r\n")  # Notepad: BOM and CRLF
    assert [s.image_id for s in list_samples("voc2012", root, "val")] == ["a", "b"]


def test_split_file_not_in_utf8_names_the_file(tmp_path):
    root = _voc(tmp_path, ids=("a",))
    split = root / "ImageSets" / "Segmentation" / "val.txt"
    split.write_bytes("caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"split file .*val\.txt is not UTF-8 text"):
        list_samples("voc2012", root, "val")

"""langseg.data.registry / classes / palettes: class lists, COCO tables, palettes."""

import numpy as np
import pytest

from langseg.data import classes, get_dataset_info
from langseg.data.cocostuff import coco_182_to_171
from langseg.data.palettes import distinct_palette, voc_palette
from langseg.params import DatasetKind


@pytest.mark.parametrize("kind, n, n_eval", [
    (DatasetKind.VOC2012, 21, 21), (DatasetKind.CONTEXT, 59, 59),
    (DatasetKind.COCOSTUFF, 171, 27), (DatasetKind.CITYSCAPES, 27, 27)])
def test_class_list_lengths_and_palette_shapes(kind, n, n_eval):
    info = get_dataset_info(kind)
    assert len(info.class_names) == n and len(set(info.class_names)) == n
    assert info.n_eval_classes == len(info.eval_class_names) == n_eval
    assert info.palette.shape == (n, 3) and info.palette.dtype == np.uint8
    assert len({tuple(c) for c in info.palette}) == n  # distinct colours


def test_spot_check_names_from_appendix_a():
    voc = get_dataset_info("voc2012")
    assert voc.class_names[0] == "background" and voc.class_names[20] == "tv/monitor"
    assert voc.class_names[11] == "dining table" and voc.class_names[16] == "potted plant"
    assert voc.prompt_class_names == voc.class_names[1:] and voc.background_channel
    ctx = get_dataset_info("context")
    assert ctx.class_names[0] == "aeroplane" and ctx.class_names[39] == "pottedplant"
    assert ctx.class_names[54] == "tvmonitor" and ctx.class_names[58] == "wood"
    assert ctx.prompt_class_names == ctx.class_names and not ctx.background_channel
    coco = get_dataset_info("cocostuff")
    assert coco.class_names[0] == "person" and coco.class_names[170] == "wood"
    assert coco.class_names[52] == "hot dog" and coco.class_names[77] == "teddy bear"
    assert coco.eval_class_names[9] == "person" and coco.eval_class_names[26] == "water"
    city = get_dataset_info("cityscapes")
    assert city.class_names[0] == "road" and city.class_names[26] == "bicycle"
    assert city.class_names[2] == "parking lot" and city.eval_mapping is None


def test_splits():
    assert "val2017-full" in get_dataset_info("cocostuff").splits
    assert {"train", "val"} <= set(get_dataset_info("voc2012").splits)


def test_coco_171_to_27_equals_182_to_27_without_unused_ids():
    table = np.asarray(classes.COCO_STUFF_182_TO_27)
    assert table.shape == (182,)
    kept = np.delete(table, list(classes.COCO_STUFF_UNUSED_IDS))
    np.testing.assert_array_equal(kept, classes.COCO_STUFF_171_TO_27)
    np.testing.assert_array_equal(get_dataset_info("cocostuff").eval_mapping, kept)


def test_coco_182_to_171_skips_the_unused_ids():
    m = coco_182_to_171()
    # by hand: ids 0..10 keep their value; 11 is unused; 12 -> 11; 24 -> 23; 25 unused; 26 -> 24;
    # 181 -> 181 - 11 = 170 (all 11 unused ids are below it).
    assert m[:11].tolist() == list(range(11)) and m[12] == 11 and m[24] == 23 and m[26] == 24
    assert m[181] == 170
    assert (m[list(classes.COCO_STUFF_UNUSED_IDS)] < 0).all()
    assert sorted(m[m >= 0].tolist()) == list(range(171))
    # composing 182 -> 171 -> 27 reproduces the 182 -> 27 table on every used id
    mapping = get_dataset_info("cocostuff").eval_mapping
    used = np.flatnonzero(m >= 0)
    np.testing.assert_array_equal(mapping[m[used]], np.asarray(classes.COCO_STUFF_182_TO_27)[used])


def test_voc_palette_hand_values():
    p = voc_palette(256)
    # 1 = 0b001 -> R bit 7 -> (128,0,0); 5 = 0b101 -> R and B bit 7 -> (128,0,128);
    # 8 = 0b001_000 -> second group's R -> bit 6 -> (64,0,0); 15 = 0b001_111 -> (128+64,128,128)
    assert p[0].tolist() == [0, 0, 0] and p[1].tolist() == [128, 0, 0]
    assert p[5].tolist() == [128, 0, 128] and p[8].tolist() == [64, 0, 0]
    assert p[15].tolist() == [192, 128, 128] and p[255].tolist() == [224, 224, 192]
    np.testing.assert_array_equal(get_dataset_info("voc2012").palette, p[:21])


def test_distinct_palette_is_fixed_and_distinct():
    a, b = distinct_palette(171), distinct_palette(171)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(c) for c in a}) == 171 and a.sum(axis=1).min() > 0


def test_info_arrays_are_read_only_and_shared():
    info = get_dataset_info(DatasetKind.COCOSTUFF)
    assert info is get_dataset_info("cocostuff")
    with pytest.raises(ValueError):
        info.palette[0, 0] = 1
    with pytest.raises(ValueError):
        info.eval_mapping[0] = 1


def test_unknown_kind_lists_allowed_values():
    with pytest.raises(ValueError, match="allowed: voc2012, context, cocostuff, cityscapes"):
        get_dataset_info("ade20k")


def test_import_loads_no_model_library():
    import subprocess
    import sys

    code = ("import sys, langseg.data; "
            "print([m for m in ('torch', 'diffusers', 'open_clip') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

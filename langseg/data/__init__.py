"""Datasets: the four on-disk layouts, class lists and label spaces, the embedded demo, shards.

Contract (docs/architecture.md, ``langseg.data``); no torch is imported here.
"""

from langseg.data.demo import DEMO_SPLITS, write_demo_dataset
from langseg.data.ground_truth import GroundTruthShard, prepare_ground_truth, present_classes
from langseg.data.images import CorruptFileError, load_image
from langseg.data.index import read_index, shard_names, shard_samples, write_index
from langseg.data.readers import list_samples, read_label
from langseg.data.registry import DatasetInfo, as_dataset_kind, get_dataset_info
from langseg.data.samples import Sample

__all__ = [
    "DEMO_SPLITS",
    "CorruptFileError",
    "DatasetInfo",
    "GroundTruthShard",
    "Sample",
    "as_dataset_kind",
    "get_dataset_info",
    "list_samples",
    "load_image",
    "prepare_ground_truth",
    "present_classes",
    "read_index",
    "read_label",
    "shard_names",
    "shard_samples",
    "write_demo_dataset",
    "write_index",
]

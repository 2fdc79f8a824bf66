"""Class lists and label tables of the four datasets (data, copied from spec Appendix A).

These are facts of the original repository (``datasets/*.py``), not code: the names are the exact
strings used as prompts (SD prompts use them verbatim, e.g. ``"tv/monitor"``, ``"pottedplant"``).
Tuples, so nothing can modify them.
"""

from __future__ import annotations


# VOC2012 ``voc2012_categories``: index = label id, 0 = background.
VOC2012_CLASSES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa",
    "train", "tv/monitor",
)

# PASCAL Context ``pascal_context_categories``: index = label id after ``value - 1``.
CONTEXT_CLASSES: tuple[str, ...] = (
    "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book", "bottle",
    "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer", "cow",
    "cup", "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass", "ground",
    "horse", "keyboard", "light", "motorbike", "mountain", "mouse", "person", "plate", "platform",
    "pottedplant", "road", "rock", "sheep", "shelves", "sidewalk", "sign", "sky", "snow", "sofa",
    "table", "track", "train", "tree", "truck", "tvmonitor", "wall", "water", "window", "wood",
)

# COCO-Stuff ``coco_stuff_categories_fine``: index = 171-id (prompts).
COCO_STUFF_FINE_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush", "banner", "blanket", "branch", "bridge",
    "building other", "bush", "cabinet", "cage", "cardboard", "carpet", "ceiling other",
    "ceiling tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain", "desk stuff",
    "dirt", "door stuff", "fence", "floor marble", "floor other", "floor stone", "floor tile",
    "floor wood", "flower", "fog", "food other", "fruit", "furniture other", "grass", "gravel",
    "ground other", "hill", "house", "leaves", "light", "mat", "metal", "mirror stuff", "moss",
    "mountain", "mud", "napkin", "net", "paper", "pavement", "pillow", "plant other", "plastic",
    "platform", "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug",
    "salad", "sand", "sea", "shelf", "sky other", "skyscraper", "snow", "solid other", "stairs",
    "stone", "straw", "structural other", "table", "tent", "textile other", "towel", "tree",
    "vegetable", "wall brick", "wall concrete", "wall other", "wall panel", "wall stone",
    "wall tile", "wall wood", "water other", "waterdrops", "window blind", "window other", "wood",
)

# COCO-Stuff ``coco_stuff_categories``: 27 evaluation classes
# (ids 0-11 things, 12-26 stuff).
COCO_STUFF_COARSE_CLASSES: tuple[str, ...] = (
    "electronic", "appliance", "food things", "furniture things", "indoor", "kitchen", "accessory",
    "animal", "outdoor", "person", "sports", "vehicle", "ceiling", "floor", "food stuff",
    "furniture stuff", "raw material", "textile", "wall", "window", "building", "ground", "plant",
    "sky", "solid", "structural", "water",
)

# ``coco_stuff_171_to_27``: position = 171-id, value = 27-id.
COCO_STUFF_171_TO_27: tuple[int, ...] = (
    9, 11, 11, 11, 11, 11, 11, 11, 11, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5, 5, 5, 5, 5, 5, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3,
    3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 17, 17, 22, 20, 20, 22,
    15, 25, 16, 13, 12, 12, 17, 17, 23, 15, 15, 17, 15, 21, 15, 25, 13, 13, 13, 13, 13, 22, 26, 14,
    14, 15, 22, 21, 21, 24, 20, 22, 15, 17, 16, 15, 22, 24, 21, 17, 25, 16, 21, 17, 22, 16, 21, 21,
    25, 21, 26, 21, 24, 20, 17, 14, 21, 26, 15, 23, 20, 21, 24, 15, 24, 22, 25, 15, 20, 17, 17, 22,
    14, 18, 18, 18, 18, 18, 18, 18, 26, 26, 19, 19, 24,
)

# ``coco_stuff_182_to_27`` (IIC fine_to_coarse): position = PNG value 0..181,
# value = 27-id.
COCO_STUFF_182_TO_27: tuple[int, ...] = (
    9, 11, 11, 11, 11, 11, 11, 11, 11, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6,
    6, 6, 6, 6, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5, 5, 5, 5, 5, 5, 5, 5, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4,
    4, 4, 17, 17, 22, 20, 20, 22, 15, 25, 16, 13, 12, 12, 17, 17, 23, 15, 15, 17, 15, 21, 15, 25,
    13, 13, 13, 13, 13, 22, 26, 14, 14, 15, 22, 21, 21, 24, 20, 22, 15, 17, 16, 15, 22, 24, 21, 17,
    25, 16, 21, 17, 22, 16, 21, 21, 25, 21, 26, 21, 24, 20, 17, 14, 21, 26, 15, 23, 20, 21, 24, 15,
    24, 22, 25, 15, 20, 17, 17, 22, 14, 18, 18, 18, 18, 18, 18, 18, 26, 26, 19, 19, 24,
)

# Cityscapes ``cityscapes_categories``: index i = Cityscapes labelId i + 7.
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "parking lot", "rail track", "building", "wall", "fence", "guard rail",
    "bridge", "tunnel", "pole", "polegroup", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "caravan", "trailer", "train",
    "motorcycle", "bicycle",
)

# 0-indexed COCO-Stuff ids absent from the dataset (dropped to build the 171 fine classes).
COCO_STUFF_UNUSED_IDS: tuple[int, ...] = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)

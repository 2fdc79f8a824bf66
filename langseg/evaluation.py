"""Dataset-level evaluation accumulator (pure, no I/O).

mIoU etc. come from one confusion matrix accumulated over the split in the EVAL space (COCO:
171 fine ids mapped to 27 coarse ones, for prediction and GT alike). Image-level multilabel
precision / recall (Table 3) use the LABEL space: per image, the set of ids in the GT and in
the prediction (-1 dropped).
"""

from __future__ import annotations

import numpy as np

from langseg.metrics import confusion_matrix, multilabel_precision_recall, segmentation_scores


class Evaluation:
    """Accumulates confusion matrix and per-image class sets; ``result()`` is JSON-able.

    Args:
        n_label_classes: classes of the label space (VOC 21, Context 59, COCO 171, City 27).
        n_eval_classes: classes scored by IoU; defaults to ``n_label_classes``.
        eval_mapping: ``(n_label_classes,) int`` label id -> eval id in ``[0, n_eval)``
            (COCO 171 -> 27), or ``None`` for the identity. -1 (ignore) stays -1.
    """

    def __init__(self, n_label_classes: int, n_eval_classes: int | None = None,
                 eval_mapping: np.ndarray | None = None) -> None:
        if n_label_classes < 1:
            raise ValueError(f"n_label_classes must be >= 1, got {n_label_classes}")
        self.n_label_classes = n_label_classes
        self.n_eval_classes = n_label_classes if n_eval_classes is None else n_eval_classes
        self.eval_mapping = None
        if eval_mapping is not None:
            mapping = np.asarray(eval_mapping, dtype=np.int64)
            if mapping.shape != (n_label_classes,) or mapping.min() < 0 \
                    or mapping.max() >= self.n_eval_classes:
                raise ValueError(f"eval_mapping must be ({n_label_classes},) ids in "
                                 f"[0, {self.n_eval_classes}), got shape {mapping.shape}")
            self.eval_mapping = mapping
        elif self.n_eval_classes != n_label_classes:
            raise ValueError("n_eval_classes differs from n_label_classes: give eval_mapping")
        self.confusion = np.zeros((self.n_eval_classes,) * 2, dtype=np.int64)
        self._true_sets: list[np.ndarray] = []
        self._pred_sets: list[np.ndarray] = []

    def _to_eval(self, labels: np.ndarray) -> np.ndarray:
        if self.eval_mapping is None:
            return labels
        out = np.full(labels.shape, -1, dtype=np.int64)
        valid = (labels >= 0) & (labels < self.n_label_classes)
        out[valid] = self.eval_mapping[labels[valid]]
        return out

    def _presence(self, labels: np.ndarray, name: str) -> np.ndarray:
        ids = np.unique(labels)
        ids = ids[ids >= 0]
        if ids.size and ids[-1] >= self.n_label_classes:
            raise ValueError(f"{name} holds label {int(ids[-1])}, outside the label space "
                             f"[0, {self.n_label_classes})")
        row = np.zeros(self.n_label_classes, dtype=bool)
        row[ids] = True
        return row

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Add one image.

        Args:
            gt: ``(H, W) int`` label space, -1 = ignore.
            pred: ``(H, W) int`` label space, every value in ``[0, n_label_classes)``.

        Raises:
            ValueError: shapes differ or an id is outside the label space.
        """
        gt, pred = np.asarray(gt, dtype=np.int64), np.asarray(pred, dtype=np.int64)
        if gt.shape != pred.shape:
            raise ValueError(f"gt and pred must have the same shape, got {gt.shape} and "
                             f"{pred.shape}")
        if pred.size and pred.min() < 0:
            raise ValueError(f"pred holds {int(pred.min())}; predictions must be label ids >= 0")
        true_row, pred_row = self._presence(gt, "gt"), self._presence(pred, "pred")
        self.confusion += confusion_matrix(self._to_eval(gt), self._to_eval(pred),
                                           self.n_eval_classes)
        self._true_sets.append(true_row)
        self._pred_sets.append(pred_row)

    @property
    def n_images(self) -> int:
        return len(self._true_sets)

    def result(self) -> dict:
        """JSON-able scores: n_images, confusion_matrix, miou, class_iou (NaN -> None),
        pixel_acc, mean_acc, fwiou, multilabel {precision, recall, n_classes}."""
        scores = segmentation_scores(self.confusion)
        shape = (self.n_images, self.n_label_classes)
        y_true = np.array(self._true_sets, dtype=bool).reshape(shape)
        y_pred = np.array(self._pred_sets, dtype=bool).reshape(shape)
        precision, recall = multilabel_precision_recall(y_true, y_pred)
        return {
            "n_images": self.n_images,
            "confusion_matrix": self.confusion.tolist(),
            "miou": _json_float(scores["miou"]),
            "class_iou": [_json_float(v) for v in scores["class_iou"]],
            "pixel_acc": _json_float(scores["pixel_acc"]),
            "mean_acc": _json_float(scores["mean_acc"]),
            "fwiou": _json_float(scores["fwiou"]),
            "multilabel": {"precision": precision, "recall": recall,
                           "n_classes": self.n_label_classes},
        }


def _json_float(value: float) -> float | None:
    return None if np.isnan(value) else float(value)

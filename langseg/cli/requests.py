"""Validation of the ``segment`` arguments into a :class:`SegmentRequest`.

Everything a user can get wrong is refused here, before any model loads, with a
:class:`~langseg.cli.errors.UsageError` that says what to do: class lists, image paths, and the
output plan (no output may overwrite an input image, two outputs may not share a path, an output
may not be a folder). No image is decoded and no model is touched.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from langseg.cli.errors import UsageError
from langseg.cli.parser import LABELS_SUFFIX, OVERLAY_SUFFIX, SINGLE_IMAGE_METHODS
from langseg.params import Device, Fidelity, Method, Preset

MAX_LABELS = 256  # a palette PNG holds values 0..255
BACKGROUND = "background"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
OUTPUT_SUFFIXES = (OVERLAY_SUFFIX, LABELS_SUFFIX)  # skipped when listing a folder


@dataclass(frozen=True)
class ImageJob:
    """One input image and where its outputs go (``None``: not written)."""

    image: Path
    overlay: Path | None
    labels: Path | None


@dataclass(frozen=True)
class SegmentRequest:
    """Validated ``segment`` arguments.

    ``classes`` holds one tuple of names per class (several names = synonyms); ``label_names``
    is the label space of the outputs: index = pixel value of the label PNG (``"background"``
    first when ``background`` is set, then each class under its first name).
    """

    jobs: tuple[ImageJob, ...]
    classes: tuple[tuple[str, ...], ...]
    method: Method
    backend: str
    preset: Preset
    fidelity: Fidelity
    device: Device
    temperature: float | None  # None: the dataset default of MethodSettings
    background: bool
    seed: int
    sd_path: Path | None
    sd_config: Path | None
    clip_path: Path | None

    @property
    def label_names(self) -> tuple[str, ...]:
        return ((BACKGROUND,) if self.background else ()) + tuple(c[0] for c in self.classes)


def make_request(args: argparse.Namespace) -> SegmentRequest:
    """Validate the parsed ``segment`` arguments (image decoding is checked when loading)."""
    if args.classes is not None:
        classes, source = split_class_list(args.classes), "--classes"
    else:
        classes, source = read_class_file(args.classes_file), f"--classes-file {args.classes_file}"
    background = bool(args.background)
    check_label_names(classes, source, background=background)
    images = list_images(args.images)
    jobs = plan_outputs(images, out=args.out, labels_out=args.labels_out, out_dir=args.out_dir)
    return SegmentRequest(
        jobs=jobs, classes=classes, method=parse_method(args.method), backend=args.backend,
        preset=Preset(args.preset), fidelity=Fidelity(args.fidelity), device=Device(args.device),
        temperature=args.temperature, background=background, seed=args.seed,
        sd_path=args.sd_path, sd_config=args.sd_config, clip_path=args.clip_path)


# ----------------------------------------------------------------------------------- classes


def parse_method(text: str) -> Method:
    """The :class:`Method` named ``text`` if it runs on one image without ground truth."""
    allowed = ", ".join(m.value for m in SINGLE_IMAGE_METHODS)
    try:
        method = Method(text)
    except ValueError:
        gt_only = ", ".join(m.value for m in Method if m.uses_ground_truth)
        raise UsageError(f"unknown method {text!r}; choose one of: {allowed} "
                         f"({gt_only} need ground-truth classes and run in the workflow)") from None
    if method.uses_ground_truth:
        raise UsageError(f"{method.value} needs ground-truth classes; use the workflow "
                         f"(see README.md), or choose one of: {allowed}")
    return method


def split_class_list(text: str) -> tuple[tuple[str, ...], ...]:
    """Classes of ``--classes "cat, dog,sofa"``: one name each, surrounding spaces stripped."""
    if not text.strip():
        return ()
    names = tuple(name.strip() for name in text.split(","))
    for position, name in enumerate(names, start=1):
        if not name:
            raise UsageError(f"--classes {text!r}: class {position} is empty; remove the extra "
                             "comma")
    return tuple((name,) for name in names)


def read_class_file(path: Path) -> tuple[tuple[str, ...], ...]:
    """Classes of a class-name file (:func:`langseg.classnames.parse_class_lines`); lines
    starting with ``#`` are comments (read as blank, so line numbers stay right)."""
    from langseg.classnames import parse_class_lines

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"--classes-file {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--classes-file {path}: is a folder; give a text file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--classes-file {path}: cannot read it as UTF-8 text ({err}); save "
                         "it as UTF-8") from None
    lines = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    try:
        return parse_class_lines(lines, f"--classes-file {path}")
    except ValueError as err:
        raise UsageError(str(err)) from None


def check_label_names(classes: Sequence[Sequence[str]], source: str, *, background: bool) -> None:
    """Fail unless there is a class, no name repeats (ignoring case; ``background`` counts when
    the rule is on) and the labels fit a palette PNG."""
    if not classes:
        raise UsageError(f"{source} gives no class names; name at least one class, "
                         'e.g. --classes "cat,dog"')
    names = [BACKGROUND] if background else []
    names += [name for names_of_class in classes for name in names_of_class]
    seen: set[str] = set()
    repeated = []
    for name in names:
        key = name.casefold()
        if key in seen:
            repeated.append(name)
        seen.add(key)
    if repeated:
        hint = (" (--background adds it already)"
                if BACKGROUND in {r.casefold() for r in repeated} else "")
        raise UsageError(f"{source} names {', '.join(map(repr, repeated))} more than once"
                         f"{hint}; give every name once")
    n_labels = len(classes) + int(background)
    if n_labels > MAX_LABELS:
        raise UsageError(f"{source} gives {n_labels} labels; at most {MAX_LABELS} fit a "
                         "label PNG")


# ------------------------------------------------------------------------------------ images


def list_images(paths: Iterable[Path]) -> list[Path]:
    """The image files named by ``paths``: files as given, folders as their files with an image
    suffix (sorted, not recursive, this command's outputs left out)."""
    images: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file()
                           and p.suffix.lower() in IMAGE_SUFFIXES
                           and not p.name.lower().endswith(OUTPUT_SUFFIXES))
            if not found:
                raise UsageError(f"folder {path} holds no image ({', '.join(IMAGE_SUFFIXES)}, "
                                 f"not counting *{OVERLAY_SUFFIX} / *{LABELS_SUFFIX}); give a "
                                 "folder of images or image files")
            images += found
        elif path.is_file():
            images.append(path)
        else:
            raise UsageError(f"image {path}: no such file or folder")
    seen: dict[Path, Path] = {}
    for image in images:
        key = image.resolve()
        if key in seen:
            raise UsageError(f"image {image} is given twice (also as {seen[key]}); give each "
                             "image once")
        seen[key] = image
    return images


# ----------------------------------------------------------------------------------- outputs


def plan_outputs(images: Sequence[Path], *, out: Path | None, labels_out: Path | None,
                 out_dir: Path | None) -> tuple[ImageJob, ...]:
    """Where each image's overlay and label map go; refuses unsafe plans up front.

    ``--out``/``--labels-out`` (one image only): those files, only those. ``--out-dir``: both
    outputs of every image in that folder. Neither: both next to each image.
    """
    if (out or labels_out) and out_dir:
        raise UsageError("give --out/--labels-out (one image) or --out-dir (a folder), not both")
    if (out or labels_out) and len(images) > 1:
        raise UsageError(f"--out/--labels-out name the files of ONE image, but {len(images)} "
                         "images are given; use --out-dir DIR for several")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir}: is a file, not a folder; name a folder")
    if out_dir is not None and not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir}: no such folder; create it first")
    if out or labels_out:
        jobs = (ImageJob(images[0], out, labels_out),)
    else:
        jobs = tuple(ImageJob(image, (out_dir or image.parent) / (image.stem + OVERLAY_SUFFIX),
                              (out_dir or image.parent) / (image.stem + LABELS_SUFFIX))
                     for image in images)
    check_outputs(jobs)
    return jobs


def check_outputs(jobs: Sequence[ImageJob]) -> None:
    """Every output: a ``.png`` file name in an existing folder, not a folder itself, not an
    input image, and not the output of another image or of the other kind."""
    inputs = {job.image.resolve(): job.image for job in jobs}
    written: dict[Path, tuple[str, Path]] = {}
    for job in jobs:
        for path, flag in ((job.overlay, "--out"), (job.labels, "--labels-out")):
            if path is None:
                continue
            what = f"{flag} {path}" if len(jobs) == 1 else f"output {path} (of {job.image})"
            if path.suffix.lower() != ".png":
                raise UsageError(f"{what}: the file name must end in .png")
            if path.is_dir():
                raise UsageError(f"{what}: is a folder; give a file name ending in .png "
                                 "(or --out-dir for a folder)")
            if not path.parent.is_dir():
                raise UsageError(f"{what}: folder {path.parent} does not exist; create it first")
            if not os.access(path.parent, os.W_OK):
                raise UsageError(f"{what}: folder {path.parent} is not writable; choose another "
                                 "(--out-dir)")
            key = path.resolve()
            if key in inputs:
                raise UsageError(f"{what} would overwrite the input image {inputs[key]}; "
                                 "choose another output name")
            if key in written:
                other, owner = written[key]
                advice = ("give different names" if owner == job.image
                          else "rename one of the images")
                raise UsageError(f"{what} is also {other}; one file cannot hold both, {advice}")
            written[key] = (what, job.image)
